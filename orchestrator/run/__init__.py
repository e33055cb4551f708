"""The one run layer every task goes through: results and the verdict -> exit-code map, the run directory,
the console, and the signal policy. Only this package prints or writes under artifacts/; the layers below
(ops, host) return data, and the layers above (engine, procedures, cli) hand their results here.
"""
