from . import test_prm_scoring_ruleset
from . import test_prm_scoring_rule
from . import test_prm_qualification
from . import test_prm_scoring_match
from . import test_prm_propensity
from . import test_prm_propensity_pls
from . import test_prm_prospect_history
from . import test_prm_scoring_tour
