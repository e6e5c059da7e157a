from . import test_prm_acquisition_cost
