from . import prm_scoring_ruleset
from . import prm_scoring_rule
from . import prm_score_entry
from . import crm_lead
from . import res_partner
from . import prm_qualification_rule
from . import prm_event
