from . import prm_funnel_analysis
from . import prm_funnel_analysis_line
from . import prm_funnel_value_line
from . import prm_funnel_whatif
