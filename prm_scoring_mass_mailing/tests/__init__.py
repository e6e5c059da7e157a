from . import test_prm_nurture_mailing_list
