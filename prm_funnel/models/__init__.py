from . import prm_acquisition_cost
