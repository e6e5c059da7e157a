from . import test_prm_scoring_ruleset
