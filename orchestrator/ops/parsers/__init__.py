"""Output formats that several host scripts print (df, docker inspect), each read in one place here.

A script's own lines are parsed beside the code that sends it; what `df` or `docker inspect` print is read
by these, whichever script ran them. tests/unit/test_golden.py pins them on real outputs.
"""
