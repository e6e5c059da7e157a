from . import mailing_trace
from . import link_tracker_click
