from . import prm_scoring_ruleset
from . import prm_scoring_rule
from . import crm_lead
from . import prm_event
