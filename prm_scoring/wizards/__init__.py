from . import prm_qualification_reject
from . import prm_qualification_preview
from . import prm_qualification_preview_line
