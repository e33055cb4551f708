#!/bin/sh
# End-to-end tests (branch feature-no-tests): a suite that was emptied by mistake. It prints a friendly line
# and exits 0 without running a single test: shakedown must not call that GREEN ("ran no tests").
echo "TAP version 13"
echo "# all tests moved to the new framework (TODO)"
echo "1..0"
exit 0
