import sys

from trialdesk.cli import main

sys.exit(main())
