# SPDX-License-Identifier: GPL-2.0
# Planted bug: its_cmd_retire() releases the ITT pins of an unmapped device
# at the first retire after its MAPD V=0 is queued, whether or not the ITS
# executed it.
/dev->state != ITS_DEV_UNMAPPING/s/ || dev->unmap_seq >= done_seq)/)/
