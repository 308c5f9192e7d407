import sys

from k8s4ai.testing.replica import run

sys.exit(run.main())
