from . import prm_analysis_mixin
from . import prm_funnel_analysis
from . import prm_funnel_analysis_line
from . import prm_funnel_value_line
from . import prm_funnel_whatif
from . import prm_source_quality
from . import prm_source_quality_line
from . import prm_cost_incidence
