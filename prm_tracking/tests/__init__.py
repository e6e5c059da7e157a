from . import test_prm_event
from . import test_prm_tracking_security
