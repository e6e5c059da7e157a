from . import prm_scoring_ruleset
