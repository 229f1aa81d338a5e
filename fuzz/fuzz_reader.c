/* libFuzzer target for the Parquet reader: opens the input as a whole
 * Parquet file and reads everything the reader offers (every column chunk
 * fully and pages-only, row boundaries, page indexes, Bloom filters). Errors
 * are expected; crashes, leaks, overreads and runaway allocations are bugs.
 * The memory ceilings are lowered so a hostile count fails fast as
 * TPQ_ELIMIT instead of hitting the fuzzer's RSS limit. */
#include <stddef.h>
#include <stdint.h>

#include "parquet/reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tpq_pr_options o;
	tpq_pr_options_init(&o);
	o.max_page_bytes = 8u << 20;
	o.max_column_bytes = 32u << 20;
	struct tpq_pr *pr = NULL;
	if (tpq_pr_open(&pr, data, size, &o, NULL) != TPQ_OK)
		return 0;
	for (size_t rg = 0; rg < tpq_pr_num_row_groups(pr); rg++) {
		for (size_t c = 0; c < tpq_pr_num_columns(pr); c++) {
			struct tpq_pr_column col;
			if (tpq_pr_read_column(pr, rg, c, 0, &col, NULL) == TPQ_OK) {
				struct tpq_pr_rows rows;
				if (tpq_pr_column_rows(&col, &rows, NULL) == TPQ_OK)
					tpq_pr_rows_release(&rows);
			}
			tpq_pr_column_release(&col);
			(void)tpq_pr_read_column(pr, rg, c, TPQ_PR_PAGES_ONLY, &col, NULL);
			tpq_pr_column_release(&col);
			struct tpq_column_index ci;
			if (tpq_pr_read_column_index(pr, rg, c, &ci, NULL) == TPQ_OK)
				tpq_column_index_release(&ci);
			struct tpq_offset_index oi;
			if (tpq_pr_read_offset_index(pr, rg, c, &oi, NULL) == TPQ_OK)
				tpq_offset_index_release(&oi);
			struct tpq_pr_bloom b;
			if (tpq_pr_read_bloom(pr, rg, c, &b, NULL) == TPQ_OK)
				(void)tpq_bloom_check(&b.filter, tpq_xxh64("a", 1, 0));
			(void)tpq_pr_bloom_might_contain(pr, rg, c, "trailpq", 7);
		}
	}
	tpq_pr_free(pr);
	return 0;
}
