from . import prm_qualification_reject
