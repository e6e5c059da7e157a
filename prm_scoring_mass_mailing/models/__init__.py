from . import prm_qualification_rule
from . import crm_lead
