from . import prm_event_type
from . import prm_event
