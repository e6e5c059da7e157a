from . import cron
from . import event_rows
from . import indexes
from . import privacy
