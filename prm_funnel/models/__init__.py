from . import prm_acquisition_cost
from . import prm_stage_history
from . import prm_stage_win_rate
from . import crm_lead
from . import prm_funnel_report
from . import prm_value_report
from . import prm_velocity_report
