/* See rewrite.h. */
#include "lake/rewrite.h"

#include "util/error.h"

enum tpq_status tpq_lake_remove_dead(struct tpq_store *st, struct tpq_state *s,
				     struct tpq_part_state *ps, const struct tpq_ct_table *table,
				     enum tpq_codec codec, int level, struct tpq_error *err)
{
	(void)st, (void)s, (void)table, (void)codec, (void)level;
	return tpq_error_set(err, TPQ_EUNSUPPORTED, "partition %s: replacing the rows of a changed "
			     "object needs the row transcoder (in progress)", ps->path);
}
