// SPDX-License-Identifier: GPL-2.0-only
/*
 * pkvm_its_queue - A compromised host attacks protected VMs through the ITS
 * command queue.
 *
 * pKVM does not trust the host kernel, yet the host's ITS driver fills the
 * ITS command queue, and the ITS writes memory by physical address wherever
 * those commands point: the ITT of a device (MAPD), its entries (MAPTI), the
 * Device Table entry. None of this goes through a stage-2 translation, so a
 * host that knows where a protected VM (pVM) lives can make the ITS write
 * into it. A root user in such a host reaches the ITS and its queue through
 * /dev/mem, and finds the physical address of the pVM's pages in
 * /proc/self/pagemap once the guest has faulted them in.
 *
 * Each test is one attack through the command queue, carried out behind the
 * driver's back (see lib/arm64/pkvm_its_host.c), against a fresh victim pVM
 * that fills its pages with a canary and checks it once the attack is over.
 * A test passes when the attack is blocked: the canary is intact, the victim
 * still runs, and the system still works (an MSI of a virtio device is
 * delivered, the ITS driver's commands complete, another pVM runs). It fails
 * when the attack lands, including when the case sees the hypervisor's
 * records disagree with the state of the ITS (a "divergence:" line) or the
 * GIC take a command that the hypervisor must refuse (an "unchecked:" line).
 * It is skipped, with the reason, when KVM cannot create protected VMs,
 * /dev/mem does not reach the GIC, or this GIC cannot express the attack.
 * A "test error:" diagnostic marks a failure of the test itself.
 *
 * Cases that keep the system usable on a kernel without protection come
 * first, the ones that may not come last.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <linux/bitfield.h>
#include <linux/sizes.h>

#include "kvm_util.h"
#include "pkvm_its_host.h"
#include "pkvm_its_test.h"
#include "test_util.h"

/*
 * Attack: mapd_itt_in_pvm
 *
 * The host sends MAPD with the ITT address of a new device set to a page of
 * the pVM, then MAPTI for an event of that device. The ITS writes the ITE,
 * 12 bytes on QEMU, into the guest's page.
 *
 * The hypervisor must check every MAPD with V=1: the whole ITT range,
 * ITT_addr .. ITT_addr + 2^(Size+1) * ITT entry size, must be memory that the
 * host owns, and it must stay away from any guest or the hypervisor (pinned)
 * for as long as the device is mapped.
 */
PKVM_ITS_ATTACK_TEST(mapd_itt_in_pvm, LAYOUT_ALL, 0)
{
	struct its_cmd_block cmd[3];

	its_cmd_mapd(&cmd[0], c->devid, c->v.pa[TARGET_PAGE], 0, true);
	its_cmd_mapti(&cmd[1], c->devid, 0, c->lpi, 0);
	its_cmd_mapd(&cmd[2], c->devid, 0, 0, false);
	its_send(c, cmd, 3);
}

/*
 * Attack: itt_range_overlap
 *
 * The host sends MAPD with an ITT that starts in its own page, 256 bytes
 * before a page of the pVM that directly follows it in physical memory, and
 * a Size large enough to reach into that page; then MAPTI for an event whose
 * ITE lies in the pVM's page. ITT_addr only needs to be 256-byte aligned, and
 * the ITT spans 2^(Size+1) entries.
 *
 * The hypervisor must check the whole range of the ITT, from ITT_addr to its
 * end, page by page, not just the page ITT_addr is in.
 */
PKVM_ITS_ATTACK_TEST(itt_range_overlap, LAYOUT_ODD, 1)
{
	u32 event, size;
	struct its_cmd_block cmd[3];
	int g = -1, h, p;
	u64 itt;

	/* The guest owns the odd pages: look for one right after a host page. */
	for (p = 1; p < NR_TARGET && g < 0; p += 2) {
		for (h = 0; h < NR_TARGET && g < 0; h += 2)
			if (c->v.pa[h] + TARGET_PAGE_SIZE == c->v.pa[p])
				g = p;
		for (h = 0; h < NR_HOST_PAGES && g < 0; h++)
			if (c->host_pa[h] + getpagesize() == c->v.pa[p])
				g = p;
	}
	if (g < 0) {
		g = 1;
		ksft_print_msg("no host page right before a guest page, ITT ends at 0x%lx\n",
			       c->v.pa[g]);
	} else {
		ksft_print_msg("guest page %d at 0x%lx follows a host page\n", g, c->v.pa[g]);
	}

	itt = c->v.pa[g] - 256;
	event = DIV_ROUND_UP(256, host_gic.ite_size);
	size = fls(event) - 1;
	ksft_print_msg("ITT at 0x%lx, %u events of %u bytes, event %u at 0x%lx\n", itt,
		       1U << (size + 1), host_gic.ite_size, event, itt + event * host_gic.ite_size);

	its_cmd_mapd(&cmd[0], c->devid, itt, size, true);
	its_cmd_mapti(&cmd[1], c->devid, event, c->lpi, 0);
	its_cmd_mapd(&cmd[2], c->devid, 0, 0, false);
	its_send(c, cmd, 3);
}

/*
 * Attack: itt_toctou_donate
 *
 * The host maps a device with its ITT in one of its own pages, which is fine
 * at that time. The page is part of the pVM's memslot (populated by the host,
 * never touched by the guest yet). Then the guest faults the page in, and the
 * host donates it to the pVM. Then the host sends MAPTI: the ITS writes the
 * ITE into what now is the guest's page.
 *
 * The hypervisor must keep ITT pages pinned from the MAPD that maps them until
 * the ITS has executed the MAPD that unmaps the device, and refuse to donate
 * or share them meanwhile.
 */
PKVM_ITS_ATTACK_TEST(itt_toctou_donate, LAYOUT_LATE, 2)
{
	u64 itt = c->v.pa[LATE_PAGE];
	struct its_cmd_block cmd[2];

	its_cmd_mapd(&cmd[0], c->devid, itt, 0, true);
	if (its_send(c, cmd, 1))
		return;

	if (!victim_donate(c) && c->v.pa[LATE_PAGE] == itt) {
		its_cmd_mapti(&cmd[0], c->devid, 0, c->lpi, 0);
		its_cmd_mapd(&cmd[1], c->devid, 0, 0, false);
		its_send(c, cmd, 2);
		return;
	}

	if (c->v.pa[LATE_PAGE] != itt)
		attack_set(c, ATTACK_NA, "the page moved when the guest took it");
	its_cmd_mapd(&cmd[0], c->devid, 0, 0, false);
	its_send(c, cmd, 1);
}

/*
 * Attack: mapd_remap_bookkeeping
 *
 * Aimed at the hypervisor's records of which pages are ITTs, in two parts.
 *
 * 1. The host maps a device with its ITT in a host page A, then maps it again
 *    (V=1 without V=0 in between) with its ITT in page T of the pVM's memslot
 *    that the guest has not touched yet, then sends a MAPD V=0 that names the
 *    old ITT A and a Size beyond GITS_TYPER.ID_bits. QEMU ignores that MAPD
 *    (out of range Size), the device stays mapped with its ITT in T. The
 *    guest then takes T, and MAPTI writes into it.
 *
 * 2. The host maps a device with its ITT in page T2, disables the ITS, queues
 *    MAPTI and MAPD V=0 (the ITS does not run them while disabled), lets the
 *    guest take T2, and enables the ITS again: MAPTI writes into T2.
 *
 * The hypervisor must track ITT pages per device from its own records, not
 * from the fields of the MAPD V=0 (pages of a remap without V=0 included),
 * check or rewrite a V=0 so that the ITS really unmaps the device, and only
 * release the pages once the ITS has executed it (GITS_CREADR past it).
 */
PKVM_ITS_ATTACK_TEST(mapd_remap_bookkeeping, LAYOUT_LATE, 3)
{
	u32 dev2 = c->devid - 1, w;
	u64 t = c->v.pa[LATE_PAGE], t2 = c->v.pa[LATE_PAGE2], *dte, val;
	struct its_cmd_block cmd[3];

	its_cmd_mapd(&cmd[0], c->devid, c->host_pa[0], 0, true);
	its_cmd_mapd(&cmd[1], c->devid, t, 0, true);
	its_cmd_mapd(&cmd[2], c->devid, c->host_pa[0], 31, false);
	if (its_send(c, cmd, 3))
		return;

	dte = its_dte_format_is_qemu() ? table_entry(&host_gic.dt, c->devid) : NULL;
	val = dte ? READ_ONCE(*dte) : 0;
	if (dte)
		ksft_print_msg("Device Table entry after the bad MAPD V=0: 0x%lx (%s)\n", val,
			       val & QEMU_DTE_VALID ? "valid" : "invalid");

	its_cmd_mapd(&cmd[0], dev2, t2, 0, true);
	if (its_send(c, cmd, 1))
		return;

	if (its_wait_idle(&w))
		return;
	its_disable(c);
	its_cmd_mapti(&cmd[0], dev2, 0, c->lpi, 0);
	its_cmd_mapd(&cmd[1], dev2, 0, 0, false);
	queue_put(w, &cmd[0]);
	queue_put(w + 1, &cmd[1]);
	wr32(host_gic.its, GITS_CWRITER, ((w + 2) % host_gic.cq_slots) * ITS_CMD_SIZE);

	victim_donate(c);

	its_enable(c);
	/* Some ITSes only look at the queue again when GITS_CWRITER is written. */
	wr32(host_gic.its, GITS_CWRITER, ((w + 2) % host_gic.cq_slots) * ITS_CMD_SIZE);
	if (its_wait_read((w + 2) % host_gic.cq_slots) ||
	    its_sync_to((w + 2) % host_gic.cq_slots, w))
		c->res->its_failed = -EIO;

	if (c->res->donation_refused) {
		its_cmd_mapd(&cmd[0], c->devid, 0, 0, false);
		its_send(c, cmd, 1);
		return;
	}
	if (c->v.pa[LATE_PAGE] != t)
		attack_set(c, ATTACK_NA, "the page moved when the guest took it");

	its_cmd_mapti(&cmd[0], c->devid, 0, c->lpi, 0);
	its_cmd_mapd(&cmd[1], c->devid, 0, 0, false);
	its_send(c, cmd, 2);
}

/*
 * Attack: dte_rewrite
 *
 * The host maps a device with its ITT in a host page, then rewrites that live
 * Device Table entry through /dev/mem so that its ITT address points at a page
 * of the pVM, then sends MAPTI: the ITS takes the ITT address from the table
 * and writes the ITE into the guest. The Device Table entry format is
 * IMPLEMENTATION DEFINED; QEMU's is recognised.
 *
 * The hypervisor must own the Device and Collection Tables, level-2 pages
 * included, so that the host cannot write them at all.
 */
PKVM_ITS_ATTACK_TEST(dte_rewrite, LAYOUT_ALL, 4)
{
	u64 *dte, saved, expect;
	struct its_cmd_block cmd[2];

	if (!its_dte_format_is_qemu()) {
		attack_set(c, ATTACK_NA, "IMPLEMENTATION DEFINED Device Table entries, not QEMU's");
		return;
	}

	its_cmd_mapd(&cmd[0], c->devid, c->host_pa[0], 0, true);
	if (its_send(c, cmd, 1))
		return;

	dte = table_entry(&host_gic.dt, c->devid);
	if (dte) {
		saved = READ_ONCE(*dte);
		expect = qemu_dte(c->host_pa[0]);
		if (saved != expect)
			ksft_print_msg("Device Table entry 0x%lx, expected 0x%lx\n", saved, expect);
		WRITE_ONCE(*dte, qemu_dte(c->v.pa[TARGET_PAGE]));
		its_cmd_mapti(&cmd[0], c->devid, 0, c->lpi, 0);
		its_send(c, cmd, 1);
		WRITE_ONCE(*dte, saved);
	} else {
		ksft_print_msg("no Device Table entry for DeviceID 0x%x\n", c->devid);
	}

	its_cmd_mapd(&cmd[0], c->devid, 0, 0, false);
	its_send(c, cmd, 1);
}

/*
 * Attack: lpi_beyond_rdist_idbits
 *
 * The ITS takes any pINTID in a MAPTI below 2^(GITS_TYPER.ID_bits + 1); the
 * LPI tables of the redistributors only cover the INTIDs below
 * 2^(GICR_PROPBASER.IDbits + 1). Where the first limit is higher, the host
 * maps an event to an LPI between the two: fired (INT), it would have the
 * redistributor look up its configuration and set its pending bit beyond the
 * end of both tables, in memory that may be anyone's. The case does not fire
 * it: it lands if the ITS took the MAPTI, which shows as the ITE in the ITT.
 * Where both limits agree (QEMU: 16 bits each), there is no such LPI and the
 * case is n/a.
 *
 * The hypervisor must bound the pINTID of MAPTI (and MAPI) by the
 * redistributors' GICR_PROPBASER.IDbits, not by GITS_TYPER.ID_bits.
 */
PKVM_ITS_ATTACK_TEST(lpi_beyond_rdist_idbits, LAYOUT_ALL, 11)
{
	u32 its_bits = host_gic.id_bits, rd_bits, intid;
	struct its_cmd_block cmd[4];
	bool ite;
	u64 itt;

	if (!host_gic.rd[0]) {
		attack_set(c, ATTACK_NA, "no redistributor found");
		return;
	}
	rd_bits = FIELD_GET(GICR_PROPBASER_IDBITS_MASK, rd64(host_gic.rd[0], GICR_PROPBASER)) + 1;
	ksft_print_msg("GITS_TYPER.ID_bits: %u bits, GICR_PROPBASER.IDbits: %u bits\n",
		       its_bits, rd_bits);
	if (its_bits == rd_bits) {
		attack_set(c, ATTACK_NA,
			   "ITS EventID bits and redistributor IDbits agree on this machine (%u bits)",
			   rd_bits);
		return;
	}
	if (its_bits < rd_bits) {
		attack_set(c, ATTACK_NA,
			   "the ITS allows fewer INTID bits (%u) than the redistributors (%u)",
			   its_bits, rd_bits);
		return;
	}

	intid = BIT(rd_bits);
	itt = itt_space(c, 256);
	its_cmd_mapc(&cmd[0], host_gic.my_icid, host_gic.rd0_target, true);
	its_cmd_mapd(&cmd[1], c->devid, itt, 0, true);
	its_cmd_mapti(&cmd[2], c->devid, 0, intid, host_gic.my_icid);
	if (its_send(c, cmd, 3))
		return;
	ite = !phys_zero(itt, host_gic.ite_size);
	c->res->unchecked = ite;
	ksft_print_msg("%sMAPTI to LPI %u: ITE %s at 0x%lx\n", ite ? "unchecked: " : "", intid,
		       ite ? "written" : "none", itt);

	/*
	 * Map the event to an LPI the tables cover before DISCARD, which
	 * clears its pending bit: none beyond the tables is touched.
	 */
	its_cmd_mapti(&cmd[0], c->devid, 0, c->lpi, host_gic.my_icid);
	its_cmd_event(&cmd[1], GITS_CMD_DISCARD, c->devid, 0);
	its_cmd_mapd(&cmd[2], c->devid, 0, 0, false);
	its_cmd_mapc(&cmd[3], host_gic.my_icid, 0, false);
	its_send(c, cmd, 4);
}

/*
 * Attack: queue_replay_after_resume
 *
 * Found by review, not expressible under QEMU 7.2: the case says so, and
 * where the attack is covered instead.
 *
 * A firmware that saves the ITS across system suspend writes GITS_CBASER
 * back on resume, which resets GITS_CREADR to 0, then GITS_CWRITER: the
 * ITS runs the whole queue again, retired MAPDs into pages since given
 * away included.
 */
PKVM_ITS_ATTACK_TEST(queue_replay_after_resume, LAYOUT_NONE, 21)
{
	attack_set(c, ATTACK_NA,
		   "QEMU's PSCI has no SYSTEM_SUSPEND and its ITS never resets GITS_CREADR behind GITS_CBASER; tools/testing/pkvm-its (test_queue_replay) and the fuzzer's power operations cover it");
}

/*
 * Attack: cbaser_foreign_queue
 *
 * The host disables the ITS, points GITS_CBASER at a one-page command queue
 * of its own that the hypervisor knows nothing about, enables the ITS and
 * runs MAPD (ITT in a pVM page) and MAPTI from there: no check of commands
 * in the driver's queue can see them.
 *
 * The hypervisor must own GITS_CBASER and the queue the ITS reads, and only
 * let commands it has checked into it.
 */
PKVM_ITS_ATTACK_TEST(cbaser_foreign_queue, LAYOUT_ALL, 15)
{
	its_foreign_queue(c);
}

/*
 * Queue @cmds with the ITS disabled and drop them with a GITS_CBASER write.
 * False if the write was refused: the ITS then runs them.
 */
static bool queue_drop(struct attack_ctx *c, const struct its_cmd_block *cmds, u32 n)
{
	u32 q = host_gic.cq_slots, w, i;
	struct store64 st;

	if (its_wait_idle(&w)) {
		c->res->its_failed = -EBUSY;
		return false;
	}
	its_disable(c);
	for (i = 0; i < n; i++)
		queue_put(w + i, &cmds[i]);
	wr32(host_gic.its, GITS_CWRITER, ((w + n) % q) * ITS_CMD_SIZE);

	c->cbaser_saved = rd64(host_gic.its, GITS_CBASER);
	c->cq_slot_saved = w;
	c->cbaser_changed = 1;
	st.addr = host_gic.its + GITS_CBASER;
	st.val = c->cbaser_saved;
	if (!guarded(store64, &st)) {
		ksft_print_msg("GITS_CBASER written, %u commands queued: GITS_CREADR %u -> %u\n", n,
			       w, queue_slot(rd32(host_gic.its, GITS_CREADR)));
		its_restore(c);
		return true;
	}

	ksft_print_msg("GITS_CBASER write refused with %u commands queued\n", n);
	c->cbaser_changed = 0;
	its_enable(c);
	wr32(host_gic.its, GITS_CWRITER, ((w + n) % q) * ITS_CMD_SIZE);
	if (its_wait_read((w + n) % q) || its_sync_to((w + n) % q, w))
		c->res->its_failed = -EIO;
	return false;
}

/*
 * Attack: cbaser_reset_drops_unmap
 *
 * Writing GITS_CBASER resets GITS_CREADR to 0: commands queued but not yet
 * executed are dropped. The host maps device A with its ITT in page T of the
 * pVM's memslot that the guest has not touched yet, and device B with its
 * ITT at P, next to one of the driver's ITTs. It disables the ITS, queues
 * MAPD V=0 for both, writes GITS_CBASER with the value it holds, enables the
 * ITS again and brings the queue back to where the driver expects it: the
 * ITS never ran the unmaps. A is still mapped to T: the guest takes T, and
 * MAPTI for A writes an ITE into it.
 *
 * A hypervisor that releases an ITT once GITS_CREADR has moved past its
 * MAPD V=0 counts dropped commands as executed: it forgets A and B, and
 * drops its pins on T and P while the Device Table still names them. If it
 * only accepts ITTs in pages the driver claimed, T is refused to begin with;
 * the host then drops a MAPD V=1 for B (ITT at Q) the same way, so that the
 * hypervisor believes B's ITT is Q while the ITS still uses P: MAPTI for B,
 * checked against Q, writes its ITE at P. Were P's page released to the
 * host and given to a pVM, the ITE would land in the pVM; only the kernel
 * releases ITT pages (__pkvm_its_release_itt), and the driver never does for
 * a page of its ITT pool, so the case reports that divergence instead.
 *
 * The hypervisor must refuse a GITS_CBASER write while commands are queued
 * (or hand them to the ITS again), and only count a command as executed
 * when the ITS has executed it.
 */

PKVM_ITS_ATTACK_TEST(cbaser_reset_drops_unmap, LAYOUT_LATE, 16)
{
	u64 t = c->v.pa[LATE_PAGE], p = itt_space(c, 512), q = p + 256;
	u32 dev_a = c->devid, dev_b = c->devid - 1;
	struct its_cmd_block cmd[3];
	bool at_p, at_q;
	char bdf[64];

	its_cmd_mapd(&cmd[0], dev_a, t, 0, true);
	its_cmd_mapd(&cmd[1], dev_b, p, 0, true);
	if (its_send(c, cmd, 2))
		return;

	its_cmd_mapd(&cmd[0], dev_a, 0, 0, false);
	its_cmd_mapd(&cmd[1], dev_b, 0, 0, false);
	queue_drop(c, cmd, 2);

	its_cmd_mapd(&cmd[0], dev_b, q, 0, true);
	queue_drop(c, cmd, 1);

	its_cmd_mapti(&cmd[0], dev_b, 0, c->lpi, 0);
	if (its_send(c, cmd, 1))
		goto unmap;
	at_p = !phys_zero(p, host_gic.ite_size);
	at_q = !phys_zero(q, host_gic.ite_size);
	if (at_p && !at_q) {
		/*
		 * Where the ITS is not policed, the attack lands through A
		 * anyway; where it is, the hypervisor checked B's MAPTI
		 * against Q while the ITS wrote at P.
		 */
		c->res->diverged = 1;
		ksft_print_msg("divergence: MAPTI for B wrote its ITE at 0x%lx, the ITT of a\n", p);
		ksft_print_msg("MAPD V=1 whose V=0 was dropped, not at 0x%lx, the last ITT\n", q);
	} else {
		ksft_print_msg("MAPTI for B: ITE %s at 0x%lx, %s at 0x%lx\n",
			       at_p ? "found" : "none", p, at_q ? "found" : "none", q);
	}

	if (victim_donate(c))
		goto unmap;
	if (c->v.pa[LATE_PAGE] != t) {
		attack_set(c, ATTACK_NA, "the page moved when the guest took it");
		goto unmap;
	}
	its_cmd_mapti(&cmd[0], dev_a, 0, c->lpi, 0);
	its_send(c, cmd, 1);
unmap:
	/* DISCARD zeroes B's ITE again, wherever the ITS keeps it. */
	its_cmd_event(&cmd[0], GITS_CMD_DISCARD, dev_b, 0);
	its_cmd_mapd(&cmd[1], dev_b, 0, 0, false);
	its_cmd_mapd(&cmd[2], dev_a, 0, 0, false);
	its_send(c, cmd, 3);
	/*
	 * The device just probed may have sent an MSI while the ITS was off,
	 * which is lost with the request it completed: start it afresh, so
	 * that the health checks judge the attack, not that request.
	 */
	if (rng_pci_function(bdf, sizeof(bdf)))
		rng_rebind(bdf);
}

int main(int argc, char *argv[])
{
	char **args = pkvm_its_init(&argc, argv);

	return test_harness_run(argc, args);
}
