from . import test_prm_event
from . import test_prm_ingest
from . import test_prm_privacy
from . import test_prm_tracking_http
from . import test_prm_tracking_security
from . import test_prm_concurrency
from . import test_prm_tracker_browser
from . import test_prm_pixel_hit
