"""nbval's comparison for the notebooks: what is checked and what is not, and why."""


def pytest_collectstart(collector):
    if collector.fspath and collector.fspath.ext == ".ipynb":
        # stderr carries only library warnings (their wording changes with versions) and
        # wandb's notices; everything the notebooks state goes to stdout, which is checked.
        collector.skip_compare += ("stderr",)
