/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The kselftest_harness glue of the pKVM ITS attack tests: their fixture and
 * one harness test per attack. Included once, by each test, after
 * kselftest_harness.h.
 */
#ifndef SELFTEST_KVM_PKVM_ITS_TEST_H
#define SELFTEST_KVM_PKVM_ITS_TEST_H

#include "kselftest_harness.h"
#include "pkvm_its_host.h"

/* No attack runs without protected VMs and a GIC /dev/mem can reach. */
FIXTURE(pkvm_its) {};

FIXTURE_SETUP(pkvm_its)
{
	const char *why = pkvm_its_unsupported();

	if (why)
		SKIP(return, "%s", why);
}

FIXTURE_TEARDOWN(pkvm_its)
{
}

/*
 * One harness test per attack, followed by the attack's body:
 *
 *	PKVM_ITS_ATTACK_TEST(name, layout, id)
 *	{
 *		... attack through struct attack_ctx *c ...
 *	}
 *
 * The test gives the attack a fresh victim of @layout, runs it and the health
 * checks, and passes if it was blocked, fails if it landed (or the test broke:
 * "test error:"), and is skipped, with the reason, if this GIC cannot express
 * it. @id picks DeviceIDs and LPIs no other case uses.
 */
#define PKVM_ITS_TIMEOUT	180

#define __PKVM_ITS_ATTACK_TEST(attack, _layout, _id, _unprobed)		\
static void attack_##attack(struct attack_ctx *c);				\
TEST_F_TIMEOUT(pkvm_its, attack, PKVM_ITS_TIMEOUT)				\
{										\
	static const struct pkvm_its_attack a = {				\
		.name = #attack,						\
		.fn = attack_##attack,						\
		.layout = _layout,						\
		.id = _id,							\
		.unprobed_its = _unprobed,					\
	};									\
	enum pkvm_its_verdict verdict;						\
	char why[512];								\
										\
	verdict = pkvm_its_run(&a, why, sizeof(why));				\
	if (verdict == PKVM_ITS_NA)						\
		SKIP(return, "%s", why);					\
	EXPECT_EQ(PKVM_ITS_BLOCKED, verdict)					\
		TH_LOG("%s", why);						\
}										\
static void attack_##attack(struct attack_ctx *c)

#define PKVM_ITS_ATTACK_TEST(attack, layout, id)				\
	__PKVM_ITS_ATTACK_TEST(attack, layout, id, false)

/* The same, for an attack on an ITS that the kernel did not probe */
#define PKVM_ITS_UNPROBED_ATTACK_TEST(attack, layout, id)			\
	__PKVM_ITS_ATTACK_TEST(attack, layout, id, true)

#endif /* SELFTEST_KVM_PKVM_ITS_TEST_H */
