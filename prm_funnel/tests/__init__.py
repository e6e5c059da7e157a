from . import test_prm_acquisition_cost
from . import test_prm_stage_history
from . import test_prm_lead_facts
from . import test_prm_funnel_reports
from . import test_prm_source_quality
from . import test_prm_funnel_tour
from . import test_prm_access_matrix
from . import test_prm_read_replica
