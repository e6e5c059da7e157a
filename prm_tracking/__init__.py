from . import tools
from . import controllers
from . import models
