from . import test_prm_incidence_invoices
