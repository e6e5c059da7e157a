from . import prm_cost_incidence
