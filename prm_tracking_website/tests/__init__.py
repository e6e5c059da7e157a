from . import test_prm_website
