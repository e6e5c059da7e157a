from . import cron
from . import rollup
from . import engagement_rollup
from . import event_rows
from . import indexes
from . import locks
from . import privacy
from . import schema
