# SPDX-License-Identifier: GPL-2.0
# Planted bug: retired slots of the real queue keep their commands, so an
# ITS that runs the queue again from its start after a power-down, as
# firmware restoring GITS_CBASER and GITS_CWRITER makes it do, replays
# mappings the records have forgotten.
/^static void its_queue_scrub/,/^}/s/^\tits_queue_put(q, off, sync);/\t(void)sync;/
