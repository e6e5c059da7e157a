from . import test_prm_mass_mailing
