/* The CloudTrail shredder (see shred.h).
 *
 * Three phases per record, so that "the last occurrence of a key wins" holds
 * and nothing is put when a record fails:
 *  A. index: walk the typed part of the record (the objects schema v1 names)
 *     and fill, per object, a frame of slots, one per schema field, each
 *     holding the LAST occurrence's raw value span and JSON type. Keys the
 *     schema does not name, and map entries, become keyed entries deduplicated
 *     by decoded key through one hash table (scoped by frame). Each key gets a
 *     sequence number at its first occurrence (slot or entry), which gives
 *     the key order; a frame lists only its keyed entries. Phase A also notes
 *     whether anything may go to unmapped (um_maybe: an unknown key, a value
 *     of the wrong type, ...), so the common record skips phase B.
 *     Free-form values (JSON-text columns, unknown keys) are crossed without
 *     decoding by a bracket-counting block scan. Strings are decoded only when
 *     they contain a backslash, into a per-record arena.
 *  B. unmapped (only when um_maybe): walk the frames in key order (known
 *     fields sorted by sequence, merged with the keyed entries) and append
 *     every value that found no column, under its JSON pointer. The pointer is kept as a
 *     stack of components and written out only for a value that is added,
 *     so the common record (nothing unmapped) builds no text at all.
 *  C. emit: walk the schema, putting each leaf's value or NULL with its
 *     definition and repetition levels (Dremel):
 *       absent/null/mismatched node N  -> put_null_node(N, max_def(N) - 1),
 *                                         side-by-side ones one put_null_cols
 *       empty list or map              -> put_null_node(N, max_def(N))
 *       null or non-object element     -> put_null_node(elem, max_def(elem) - 1)
 *       entry k of a list or map       -> rep = parent rep for k = 0, else the
 *                                         repeated group's max_rep
 *
 * Key lookup: per struct, a 64-entry table hashed on length and three
 * bytes, confirmed by comparing 8-byte words against the zero-padded schema
 * key (the record's padding makes the over-read safe).
 *
 * Recursion follows the schema (at most five levels), never the input: the
 * input's own nesting is only counted by skip_container. Every read is
 * checked against the record's end, so a record that is not valid JSON gives
 * TPQ_ECORRUPT (or a harmless wrong row), never a read out of bounds. All
 * vectors and buffers are kept between records: no allocation in steady
 * state. */
#include "cloudtrail/shred.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cloudtrail/schema_v1.h"
#include "json/scan.h"
#include "json/scan_inl.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/fault.h"

#define MAX_FIELDS 160
#define MAX_STRUCTS 32
#define LUT_SIZE 64
#define MAP_SD 0xFFFFu
#define MAX_PATH 16 /* pointer components: schema depth + list index + key */

/* One field of a struct of schema v1, with its levels. */
#define KEY_MAX 32 /* longest schema key, padded: keys are compared 8 bytes at a time */

struct fdef {
	/* the key and its closing quote, zero-padded: a raw key equals the
	 * field's iff its bytes and the quote after them match kq[0..klen] */
	uint8_t kq[48] __attribute__((aligned(16)));
	uint16_t kqmask[3];    /* the bits of kq's three 16-byte pieces to compare */
	const char *key;
	uint8_t kpad[KEY_MAX]; /* the key, zero-padded */
	uint8_t klen;
	uint8_t kind;      /* enum tpq_ct_kind */
	int16_t child;     /* STRUCT: its struct def; LIST: the element's struct def */
	int node;          /* the field's (outer) schema node */
	int col, col2;     /* leaf column; MAP: key and value columns */
	int elem_node;     /* LIST: the element group */
	int16_t def;       /* max_def of `node` */
	int16_t rdef, rrep; /* LIST/MAP: the repeated group's max_def and max_rep */
	int16_t edef;      /* LIST: max_def of the element group */
	int first_leaf, n_leaves; /* the leaves under `node`: consecutive columns */
};

struct sdef {
	uint16_t first, n;      /* fields t->f[first .. first + n) */
	uint8_t lut[LUT_SIZE];  /* key hash -> field index + 1, linear probing */
	/* The fields' leaves are consecutive columns from first_leaf on, and
	 * every field has the same max_def (all are OPTIONAL): absent fields
	 * between two present ones are one run of null columns at def null_def
	 * (checked when the table is built). */
	int first_leaf, null_def;
};

struct tpq_ct_table {
	struct tpq_schema schema;
	struct fdef f[MAX_FIELDS];
	uint16_t nf;
	struct sdef sd[MAX_STRUCTS];
	uint16_t nsd;
	int unmapped_col;
};

/* JSON types, from a value's first byte. */
enum { JT_NONE, JT_NULL, JT_FALSE, JT_TRUE, JT_NUM, JT_STR, JT_OBJ, JT_ARR };

/* slot and entry flags */
#define SF_DEC 1u        /* the string was decoded into the arena: (a, b) = (offset, length) */
#define SF_LONE 2u       /* the string holds an escaped lone surrogate */
#define SF_TIME_OK 4u
#define SF_TIME_CANON 8u
#define SF_PRESENT 16u   /* the value fills the field's column(s) (emit puts it) */

struct slot {
	uint32_t off, len; /* the value's raw bytes, relative to the record */
	uint8_t jt, fl;
	uint32_t a, b;     /* see SF_DEC; STRUCT/MAP: a = frame; LIST: a = first elem (or -1), b = count */
	uint32_t seq;      /* when the key first occurred in the record (key order for unmapped) */
	int64_t ms;
};

struct frame {
	uint32_t sd;       /* struct def, or MAP_SD */
	uint32_t slot0;
	uint32_t seen;     /* bit i: field i's key occurred (struct defs have < 32 fields) */
	int32_t head, tail; /* keyed entries in first-occurrence order */
};

/* A key the schema does not name, or a map entry. */
struct ent {
	int32_t next, frame;
	uint8_t kfl;       /* SF_DEC, SF_LONE for the key */
	uint8_t vjt, vfl;  /* the value, vfl: SF_DEC, SF_LONE (map values) */
	uint32_t seq;      /* as struct slot's */
	uint32_t h;
	uint32_t koff, klen;   /* raw key contents */
	uint32_t kdoff, kdlen; /* decoded key: arena if SF_DEC, else = raw */
	uint32_t voff, vlen;   /* raw value */
	uint32_t sdoff, sdlen; /* decoded string value (map values with escapes) */
};

struct elem {
	int32_t next, frame;
	uint8_t jt;
	uint32_t off, len;
};

/* A JSON pointer component: a schema key (plain ASCII), a raw key from the
 * record (escaped on output), or an array index (n). */
enum { PC_KEY, PC_RAW, PC_INDEX };
struct pcomp {
	uint8_t kind;
	const void *p;
	uint32_t n;
};

struct tpq_ct_shredder {
	const struct tpq_ct_table *t;
	bool simd;
	const uint8_t *rec, *end;
	enum tpq_status st;
	size_t eoff;
	const char *emsg;
	struct slot *slots;
	size_t n_slots, cap_slots;
	struct frame *frames;
	size_t n_frames, cap_frames;
	struct ent *ents;
	size_t n_ents, cap_ents;
	struct elem *elems;
	size_t n_elems, cap_elems;
	uint32_t *dtab;    /* dedup table of keyed entries: entry index + 1 */
	size_t dcap, dn;
	struct tpq_buf str; /* decoded strings */
	struct tpq_buf tmp; /* a decoded key being looked up */
	struct tpq_buf um;  /* the unmapped text */
	struct pcomp pc[MAX_PATH]; /* the JSON pointer of the value being looked at */
	unsigned npc;
	uint32_t seq;      /* keys seen in this record */
	bool um_maybe;     /* something may go to unmapped: phase B runs only then */
	/* Key lookup cache: the field that followed field i (global index) last
	 * time, + 1, and per struct def the field that came first. CloudTrail
	 * writes the keys of an event in much the same order every time, so most
	 * lookups are one compare against the guess instead of a hash probe. */
	uint8_t guess_next[MAX_FIELDS];
	uint8_t guess_first[MAX_STRUCTS];
};

/* ---------------------------------------------------------------- table */

static unsigned khash(const uint8_t *k, size_t n)
{
	return (unsigned)(n * 5 + k[0] * 3u + k[n - 1] * 7u + k[n >> 1]) & (LUT_SIZE - 1);
}

static bool node_is(const struct tpq_schema *s, int node, int parent, enum tpq_repetition rep)
{
	return node > 0 && (size_t)node < s->n_nodes && s->nodes[node].parent == parent &&
	       s->nodes[node].repetition == rep;
}

/* Adds the struct def of fields fs[0..n), consuming schema nodes in the order
 * of tpq_ct_schema_build's depth-first walk. Returns its index, or -1. */
static int build_struct(struct tpq_ct_table *t, const struct tpq_ct_field *fs, size_t n,
			const int *nodes, size_t nn, size_t *k, int depth)
{
	const struct tpq_schema *s = &t->schema;
	/* each level adds at most two pointer components (a key and an index) */
	if (2 * depth + 2 > MAX_PATH || t->nsd >= MAX_STRUCTS || t->nf + n > MAX_FIELDS || n >= LUT_SIZE / 2)
		return -1;
	int sdi = t->nsd++;
	struct sdef *sd = &t->sd[sdi];
	sd->first = t->nf;
	sd->n = (uint16_t)n;
	t->nf = (uint16_t)(t->nf + n);
	memset(sd->lut, 0, sizeof(sd->lut));
	for (size_t i = 0; i < n; i++) {
		struct fdef *fd = &t->f[sd->first + i];
		size_t klen = strlen(fs[i].key);
		if (*k >= nn || klen == 0 || klen > KEY_MAX)
			return -1;
		int node = nodes[(*k)++];
		if (node <= 0 || (size_t)node >= s->n_nodes)
			return -1;
		fd->key = fs[i].key;
		memset(fd->kpad, 0, sizeof(fd->kpad));
		memcpy(fd->kpad, fs[i].key, klen);
		memset(fd->kq, 0, sizeof(fd->kq));
		memcpy(fd->kq, fs[i].key, klen);
		fd->kq[klen] = '"';
		for (size_t j = 0; j < 3; j++) {
			size_t lo = 16 * j, cnt = klen + 1 > lo ? klen + 1 - lo : 0;
			fd->kqmask[j] = (uint16_t)(cnt >= 16 ? 0xFFFFu : (1u << cnt) - 1);
		}
		fd->klen = (uint8_t)klen;
		fd->kind = (uint8_t)fs[i].kind;
		fd->node = node;
		fd->def = s->nodes[node].max_def;
		fd->col = s->nodes[node].leaf;
		fd->first_leaf = s->nodes[node].first_leaf;
		fd->n_leaves = s->nodes[node].n_leaves;
		fd->col2 = -1;
		fd->child = -1;
		fd->elem_node = -1;
		switch (fs[i].kind) {
		case TPQ_CTK_STRUCT: {
			int c = build_struct(t, fs[i].children, fs[i].n_children, nodes, nn, k, depth + 1);
			if (c < 0)
				return -1;
			fd->child = (int16_t)c;
			break;
		}
		case TPQ_CTK_LIST: {
			int list = node + 1, el = node + 2;
			if (!node_is(s, list, node, TPQ_REPEATED) || !node_is(s, el, list, TPQ_OPTIONAL) ||
			    !s->nodes[el].is_group)
				return -1;
			fd->rdef = s->nodes[list].max_def;
			fd->rrep = s->nodes[list].max_rep;
			fd->elem_node = el;
			fd->edef = s->nodes[el].max_def;
			int c = build_struct(t, fs[i].children, fs[i].n_children, nodes, nn, k, depth + 1);
			if (c < 0)
				return -1;
			fd->child = (int16_t)c;
			break;
		}
		case TPQ_CTK_MAP: {
			int kv = node + 1, key = node + 2, val = node + 3;
			if (!node_is(s, kv, node, TPQ_REPEATED) || !node_is(s, key, kv, TPQ_REQUIRED) ||
			    !node_is(s, val, kv, TPQ_OPTIONAL) || s->nodes[key].leaf < 0 ||
			    s->nodes[val].leaf < 0)
				return -1;
			fd->rdef = s->nodes[kv].max_def;
			fd->rrep = s->nodes[kv].max_rep;
			fd->col = s->nodes[key].leaf;
			fd->col2 = s->nodes[val].leaf;
			break;
		}
		default:
			if (fd->col < 0)
				return -1;
			break;
		}
		unsigned h = khash((const uint8_t *)fd->key, klen);
		while (sd->lut[h])
			h = (h + 1) & (LUT_SIZE - 1);
		sd->lut[h] = (uint8_t)(i + 1);
	}
	/* the shape emit_struct relies on */
	const struct fdef *f0 = &t->f[sd->first];
	sd->first_leaf = n ? f0[0].first_leaf : 0;
	sd->null_def = n ? f0[0].def - 1 : 0;
	for (size_t i = 1; i < n; i++)
		if (f0[i].def != f0[0].def ||
		    f0[i].first_leaf != f0[i - 1].first_leaf + f0[i - 1].n_leaves)
			return -1;
	return sdi;
}

enum tpq_status tpq_ct_table_new(struct tpq_ct_table **out, struct tpq_error *err)
{
	enum tpq_status st = TPQ_OK;
	*out = NULL;
	struct tpq_ct_table *t = calloc(1, sizeof(*t));
	size_t nn = tpq_ct_count_fields();
	int *nodes = malloc(nn * sizeof(int));
	if (!t || !nodes) {
		st = tpq_error_set(err, TPQ_ENOMEM, "out of memory building the CloudTrail table");
		goto free_all;
	}
	if (tpq_schema_init(&t->schema)) {
		st = tpq_error_set(err, TPQ_ENOMEM, "out of memory building the CloudTrail table");
		goto free_all;
	}
	st = tpq_ct_schema_build(&t->schema, nodes, nn, &t->unmapped_col, err);
	if (st != TPQ_OK)
		goto free_schema;
	size_t k = 0;
	if (build_struct(t, tpq_ct_fields, tpq_ct_n_fields, nodes, nn, &k, 0) != 0 || k != nn) {
		st = tpq_error_set(err, TPQ_EINVAL, "schema v1 does not have the expected shape");
		goto free_schema;
	}
	free(nodes);
	*out = t;
	return TPQ_OK;
free_schema:
	tpq_schema_release(&t->schema);
free_all:
	free(nodes);
	free(t);
	return st;
}

const struct tpq_schema *tpq_ct_table_schema(const struct tpq_ct_table *t)
{
	return &t->schema;
}

int tpq_ct_table_unmapped_col(const struct tpq_ct_table *t)
{
	return t->unmapped_col;
}

void tpq_ct_table_free(struct tpq_ct_table *t)
{
	if (!t)
		return;
	tpq_schema_release(&t->schema);
	free(t);
}

/* ---------------------------------------------------------------- shredder */

struct tpq_ct_shredder *tpq_ct_shredder_new(const struct tpq_ct_table *t)
{
	struct tpq_ct_shredder *sh = calloc(1, sizeof(*sh));
	if (!sh)
		return NULL;
	sh->t = t;
	sh->simd = tpq_json_get_impl() == TPQ_JSON_IMPL_SSE2;
	tpq_buf_init(&sh->str);
	tpq_buf_init(&sh->tmp);
	tpq_buf_init(&sh->um);
	return sh;
}

void tpq_ct_shredder_free(struct tpq_ct_shredder *sh)
{
	if (!sh)
		return;
	free(sh->slots);
	free(sh->frames);
	free(sh->ents);
	free(sh->elems);
	free(sh->dtab);
	tpq_buf_release(&sh->str);
	tpq_buf_release(&sh->tmp);
	tpq_buf_release(&sh->um);
	free(sh);
}

const uint8_t *tpq_ct_shredder_unmapped(const struct tpq_ct_shredder *sh, size_t *len)
{
	*len = sh->um.len;
	return sh->um.len ? sh->um.p : NULL;
}

static bool grow(void **v, size_t *cap, size_t need, size_t elsz)
{
	if (need <= *cap)
		return true;
	size_t nc = *cap ? *cap : 16;
	while (nc < need)
		nc *= 2;
	if (tpq_fault_hit(TPQ_FAULT_ALLOC))
		return false;
	void *nv = realloc(*v, nc * elsz);
	if (!nv)
		return false;
	*v = nv;
	*cap = nc;
	return true;
}

static const uint8_t *nomem(struct tpq_ct_shredder *sh)
{
	if (sh->st == TPQ_OK)
		sh->st = TPQ_ENOMEM;
	return NULL;
}

static const uint8_t *corrupt(struct tpq_ct_shredder *sh, const uint8_t *at, const char *msg)
{
	if (sh->st == TPQ_OK) {
		sh->st = TPQ_ECORRUPT;
		sh->eoff = at > sh->end ? (size_t)(sh->end - sh->rec) : (size_t)(at - sh->rec);
		sh->emsg = msg;
	}
	return NULL;
}

static uint8_t jt_of(uint8_t c)
{
	switch (c) {
	case '"': return JT_STR;
	case '{': return JT_OBJ;
	case '[': return JT_ARR;
	case 't': return JT_TRUE;
	case 'f': return JT_FALSE;
	case 'n': return JT_NULL;
	default: return JT_NUM;
	}
}

/* From just after an opening quote to the closing quote; NULL at the end.
 * Inlined: it runs for every key and string value. */
static inline __attribute__((always_inline)) const uint8_t *
str_close(const struct tpq_ct_shredder *sh, const uint8_t *p, bool *esc)
{
	const uint8_t *end = sh->end;
	for (;;) {
		if (p >= end)
			return NULL;
		bool quote = false;
#if TPQ__JSON_SSE2
		if (sh->simd)
			p = tpq__scan_strq_sse2(p, end, false, &quote);
		else
#endif
			p = tpq__scan_qb_swar(p, end);
		if (p >= end)
			return NULL;
		if (sh->simd ? quote : *p == '"')
			return p;
		*esc = true;
		p += 2;
	}
}

#if TPQ__JSON_SSE2
/* Bit i of the result: the parity of x's set bits at positions 0..i. */
static inline uint64_t prefix_xor64(uint64_t x)
{
	x ^= x << 1;
	x ^= x << 2;
	x ^= x << 4;
	x ^= x << 8;
	x ^= x << 16;
	x ^= x << 32;
	return x;
}

/* skip_container, 64 bytes a step (four 16-byte pieces): masks of quotes
 * and brackets, the inside of strings from the quotes' running parity
 * (carried from block to block), and only the brackets outside strings are
 * counted. Escaped quotes come out of the quote mask first (a loop over the
 * backslashes, which are rare).
 *
 *   bytes     {"a":"}",[1]}
 *   quotes    .1.1.1.1......   inside = prefix_xor(quotes): .11.11.......
 *   brackets  1....1...1.11    counted = brackets & ~inside: 1........1.11
 */
static const uint8_t *skip_container_sse2(struct tpq_ct_shredder *sh, const uint8_t *p)
{
	const uint8_t *end = sh->end;
	const __m128i vq = _mm_set1_epi8('"'), vb = _mm_set1_epi8('\\');
	const __m128i vlc = _mm_set1_epi8(0x20), vo = _mm_set1_epi8('{'), vc = _mm_set1_epi8('}');
	size_t depth = 0;
	uint64_t in_str = 0; /* all ones: the block starts inside a string */
	uint64_t esc = 0;    /* 1: the block's first byte is escaped */
	while (p < end) {
		size_t avail = (size_t)(end - p);
		uint64_t valid = avail >= 64 ? ~UINT64_C(0) : (UINT64_C(1) << avail) - 1;
		uint64_t mq = 0, mb = 0, mo = 0, mc = 0;
		for (unsigned k = 0; k < 4; k++) {
			__m128i v = tpq__load128(p + 16 * k);
			__m128i y = _mm_or_si128(v, vlc); /* '[' -> '{', ']' -> '}' */
			unsigned sh_ = 16 * k;
			mq |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, vq)) << sh_;
			mb |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, vb)) << sh_;
			mo |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(y, vo)) << sh_;
			mc |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(y, vc)) << sh_;
		}
		mb &= valid;
		if (mb | esc) {
			/* left to right, an unescaped backslash escapes the next byte
			 * (bit 63's: the next block's first); escaped quotes do not
			 * count (escaped brackets are inside strings anyway) */
			uint64_t escd = esc, todo = mb & ~esc;
			esc = 0;
			while (todo) {
				unsigned i = (unsigned)__builtin_ctzll(todo);
				if (i == 63) {
					esc = 1;
					break;
				}
				escd |= UINT64_C(2) << i;
				todo &= ~((UINT64_C(4) << i) - 1); /* i == 62: all bits */
			}
			mq &= ~escd;
		}
		uint64_t inside = prefix_xor64(mq & valid) ^ in_str;
		for (uint64_t br = (mo | mc) & valid & ~inside; br; br &= br - 1) {
			unsigned i = (unsigned)__builtin_ctzll(br);
			if (mo >> i & 1)
				depth++;
			else if (--depth == 0)
				return p + i + 1;
		}
		in_str = (uint64_t)((int64_t)inside >> 63);
		p += 64;
	}
	return corrupt(sh, end, in_str ? "unterminated string" : "unterminated object or array");
}
#endif

/* Crosses an object or array from its opening bracket, counting nesting. */
static const uint8_t *skip_container(struct tpq_ct_shredder *sh, const uint8_t *p)
{
	const uint8_t *end = sh->end;
	size_t depth = 0;
#if TPQ__JSON_SSE2
	if (sh->simd)
		return skip_container_sse2(sh, p);
#endif
	for (;;) {
		p = tpq__scan_nest(p, end, sh->simd);
		if (p >= end)
			return corrupt(sh, end, "unterminated object or array");
		uint8_t c = *p;
		if (c == '"') {
			bool esc = false;
			p = str_close(sh, p + 1, &esc);
			if (!p)
				return corrupt(sh, end, "unterminated string");
		} else if ((c | 0x20) == '{') {
			depth++;
		} else if (--depth == 0) {
			return p + 1;
		}
		p++;
	}
}

/* Crosses any value from its first byte (p < end). */
static const uint8_t *skip_value(struct tpq_ct_shredder *sh, const uint8_t *p)
{
	const uint8_t *end = sh->end, *q;
	bool esc = false;
	switch (*p) {
	case '"':
		q = str_close(sh, p + 1, &esc);
		return q ? q + 1 : corrupt(sh, end, "unterminated string");
	case '{':
	case '[':
		return skip_container(sh, p);
	default:
		for (q = p; q < end && (tpq__json_class[*q] & TPQ__C_SCALAR); q++)
			;
		return q > p ? q : corrupt(sh, p, "expected a value");
	}
}

/* Decodes raw string contents into the arena. */
static bool decode(struct tpq_ct_shredder *sh, const uint8_t *raw, size_t n, uint32_t *off,
		   uint32_t *len, bool *lone)
{
	if (tpq_buf_reserve(&sh->str, n))
		return false;
	size_t m = tpq_json_unescape(raw, n, sh->str.p + sh->str.len, lone);
	*off = (uint32_t)sh->str.len;
	*len = (uint32_t)m;
	sh->str.len += m;
	return true;
}

static int32_t new_frame(struct tpq_ct_shredder *sh, uint32_t sd)
{
	size_t ns = sd == MAP_SD ? 0 : sh->t->sd[sd].n;
	if (!grow((void **)&sh->frames, &sh->cap_frames, sh->n_frames + 1, sizeof(struct frame)) ||
	    !grow((void **)&sh->slots, &sh->cap_slots, sh->n_slots + ns, sizeof(struct slot)))
		return -1;
	memset(sh->slots + sh->n_slots, 0, ns * sizeof(struct slot));
	struct frame *f = &sh->frames[sh->n_frames];
	f->sd = sd;
	f->slot0 = (uint32_t)sh->n_slots;
	f->seen = 0;
	f->head = f->tail = -1;
	sh->n_slots += ns;
	return (int32_t)sh->n_frames++;
}

static int32_t add_ent(struct tpq_ct_shredder *sh, int32_t fi)
{
	if (!grow((void **)&sh->ents, &sh->cap_ents, sh->n_ents + 1, sizeof(struct ent)))
		return -1;
	int32_t ei = (int32_t)sh->n_ents++;
	struct ent *e = &sh->ents[ei];
	memset(e, 0, sizeof(*e));
	e->next = -1;
	e->frame = fi;
	e->seq = sh->seq++;
	struct frame *f = &sh->frames[fi];
	if (f->tail >= 0)
		sh->ents[f->tail].next = ei;
	else
		f->head = ei;
	f->tail = ei;
	return ei;
}

static const uint8_t *ent_key(const struct tpq_ct_shredder *sh, const struct ent *e)
{
	return (e->kfl & SF_DEC ? sh->str.p : sh->rec) + e->kdoff;
}

static uint32_t key_hash(const uint8_t *k, size_t n, int32_t fi)
{
	uint64_t h = (uint64_t)(uint32_t)fi * UINT64_C(0x9FB21C651E98DF25) + n;
	for (size_t i = 0; i < n; i++)
		h = (h ^ k[i]) * UINT64_C(0x100000001B3) + (h >> 41);
	h ^= h >> 31;
	return (uint32_t)(h ^ h >> 32);
}

static bool dtab_grow(struct tpq_ct_shredder *sh)
{
	size_t cap = sh->dcap ? sh->dcap * 2 : 64;
	uint32_t *t = tpq_fault_hit(TPQ_FAULT_ALLOC) ? NULL : calloc(cap, sizeof(uint32_t));
	if (!t)
		return false;
	for (size_t i = 0; i < sh->n_ents; i++) {
		size_t j = sh->ents[i].h & (cap - 1);
		while (t[j])
			j = (j + 1) & (cap - 1);
		t[j] = (uint32_t)i + 1;
	}
	free(sh->dtab);
	sh->dtab = t;
	sh->dcap = cap;
	return true;
}

/* The entry of key (raw contents k[0..kn), escapes if kesc) in frame fi: the
 * existing one (a repeated key) or a new one appended to the frame. -1 on
 * allocation failure. */
static int32_t keyed_entry(struct tpq_ct_shredder *sh, int32_t fi, const uint8_t *k, size_t kn,
			   bool kesc)
{
	uint32_t koff = (uint32_t)(k - sh->rec), kdoff = koff, kdlen = (uint32_t)kn;
	uint8_t kfl = 0;
	if (kesc) {
		bool lone = false;
		if (!decode(sh, k, kn, &kdoff, &kdlen, &lone))
			return -1;
		kfl = (uint8_t)(SF_DEC | (lone ? SF_LONE : 0));
	}
	const uint8_t *kd = (kfl & SF_DEC ? sh->str.p : sh->rec) + kdoff;
	uint32_t h = key_hash(kd, kdlen, fi);
	if ((sh->dn + 1) * 2 > sh->dcap && !dtab_grow(sh))
		return -1;
	size_t mask = sh->dcap - 1, j = h & mask;
	while (sh->dtab[j]) {
		int32_t ei = (int32_t)sh->dtab[j] - 1;
		const struct ent *e = &sh->ents[ei];
		if (e->h == h && e->frame == fi && e->kdlen == kdlen &&
		    memcmp(ent_key(sh, e), kd, kdlen) == 0)
			return ei;
		j = (j + 1) & mask;
	}
	int32_t ei = add_ent(sh, fi);
	if (ei < 0)
		return -1;
	struct ent *e = &sh->ents[ei];
	e->h = h;
	e->kfl = kfl;
	e->koff = koff;
	e->klen = (uint32_t)kn;
	e->kdoff = kdoff;
	e->kdlen = kdlen;
	sh->dtab[j] = (uint32_t)ei + 1;
	sh->dn++;
	return ei;
}

/* k[0..n) == key[0..n), n <= KEY_MAX, reading whole 8-byte words of both
 * (k has readable bytes after it: record padding, or the tmp buffer's slack).
 * The mask keeps the first `rem` bytes in memory order, on any endianness. */
static inline bool key_eq(const uint8_t *k, const uint8_t *key, size_t n)
{
	static const uint8_t ones[16] = {255, 255, 255, 255, 255, 255, 255, 255};
	uint64_t diff = 0;
	size_t i = 0;
	for (; i + 8 <= n; i += 8)
		diff |= tpq__load64(k + i) ^ tpq__load64(key + i);
	if (i < n)
		diff |= (tpq__load64(k + i) ^ tpq__load64(key + i)) & tpq__load64(ones + 8 - (n - i));
	return diff == 0;
}

/* Does the key starting at k (just after its opening quote) end right after
 * field g's key bytes? Then it is that key exactly: the schema keys hold no
 * '"' or '\\', so the quote that follows cannot be escaped. Reads up to 48
 * bytes from k (within the record's padding: k is before the record's end). */
static inline bool key_is(const struct tpq_ct_shredder *sh, const uint8_t *k, const struct fdef *g)
{
#if TPQ__JSON_SSE2
	if (sh->simd) {
		for (unsigned j = 0; j < 3; j++) {
			unsigned want = g->kqmask[j];
			__m128i a = tpq__load128(k + 16 * j);
			__m128i b = _mm_load_si128((const __m128i *)(const void *)(g->kq + 16 * j));
			if (((unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(a, b)) & want) != want)
				return false;
			if (want != 0xFFFFu)
				return true;
		}
		return true;
	}
#endif
	return key_eq(k, g->kq, (size_t)g->klen + 1);
}

/* The field of struct def sd named by the raw key, or -1 (-2: no memory).
 * `guess` (field index + 1, 0: none) is tried first. */
static inline int lookup(struct tpq_ct_shredder *sh, const struct sdef *sd, const uint8_t *k,
			 size_t n, bool esc, unsigned guess)
{
	if (guess && !esc) {
		const struct fdef *g = &sh->t->f[sd->first + guess - 1];
		if (g->klen == n && key_eq(k, g->kpad, n))
			return (int)guess - 1;
	}
	if (esc) {
		bool lone = false;
		tpq_buf_reset(&sh->tmp);
		if (tpq_buf_reserve(&sh->tmp, n + KEY_MAX))
			return -2;
		n = tpq_json_unescape(k, n, sh->tmp.p, &lone);
		if (lone)
			return -1;
		k = sh->tmp.p;
	}
	if (n == 0 || n > KEY_MAX)
		return -1;
	const struct fdef *f0 = &sh->t->f[sd->first];
	for (unsigned h = khash(k, n);; h = (h + 1) & (LUT_SIZE - 1)) {
		unsigned e = sd->lut[h];
		if (!e)
			return -1;
		const struct fdef *f = &f0[e - 1];
		if (f->klen == n && key_eq(k, f->kpad, n))
			return (int)e - 1;
	}
}

static const uint8_t *parse_obj(struct tpq_ct_shredder *sh, int32_t fi, const uint8_t *p);

static const uint8_t *parse_list(struct tpq_ct_shredder *sh, const struct fdef *fd,
				 const uint8_t *v, uint32_t *first, uint32_t *count_out)
{
	const uint8_t *end = sh->end, *p = tpq__skip_ws(v + 1, end), *q;
	int32_t head = -1, tail = -1;
	uint32_t count = 0;
	if (p < end && *p == ']') {
		p++;
		goto done;
	}
	for (;;) {
		if (p >= end)
			return corrupt(sh, end, "unterminated array");
		uint8_t jt = jt_of(*p);
		int32_t nf = -1;
		if (jt == JT_OBJ) {
			nf = new_frame(sh, (uint32_t)fd->child);
			if (nf < 0)
				return nomem(sh);
			q = parse_obj(sh, nf, p);
		} else {
			sh->um_maybe |= jt != JT_NULL;
			q = skip_value(sh, p);
		}
		if (!q)
			return NULL;
		if (!grow((void **)&sh->elems, &sh->cap_elems, sh->n_elems + 1, sizeof(struct elem)))
			return nomem(sh);
		int32_t ei = (int32_t)sh->n_elems++;
		struct elem *e = &sh->elems[ei];
		e->next = -1;
		e->frame = nf;
		e->jt = jt;
		e->off = (uint32_t)(p - sh->rec);
		e->len = (uint32_t)(q - p);
		if (tail >= 0)
			sh->elems[tail].next = ei;
		else
			head = ei;
		tail = ei;
		count++;
		p = tpq__skip_ws(q, end);
		if (p < end && *p == ',') {
			p = tpq__skip_ws(p + 1, end);
			continue;
		}
		if (p < end && *p == ']') {
			p++;
			break;
		}
		return corrupt(sh, p, "expected ',' or ']'");
	}
done:
	*first = (uint32_t)head;
	*count_out = count;
	return p;
}

/* The value v of schema field fd, slot si of frame fi. */
static const uint8_t *parse_field(struct tpq_ct_shredder *sh, const struct fdef *fd, size_t si,
				  const uint8_t *v)
{
	/* The slot is written field by field at the end, from locals: a struct
	 * built on the stack and copied whole made the copy's 16-byte loads
	 * wait on the narrower stores just before them (a store-forwarding
	 * stall that was a fifth of the parse time). The slot is not held as a
	 * pointer across parse_obj, which may move the slots. */
	uint8_t jt = jt_of(*v), fl = 0;
	uint32_t a = 0, b = 0;
	int64_t ms = 0;
	/* the first occurrence gives the key its place in key order */
	uint32_t seq = sh->slots[si].jt == JT_NONE ? sh->seq++ : sh->slots[si].seq;
	const uint8_t *q;
	int32_t nf;
	bool esc = false, lone = false, canon = false;
	switch (fd->kind) {
	case TPQ_CTK_STRING:
	case TPQ_CTK_TIMESTAMP:
		if (jt != JT_STR)
			goto skip;
		q = str_close(sh, v + 1, &esc);
		if (!q)
			return corrupt(sh, sh->end, "unterminated string");
		if (fd->kind == TPQ_CTK_STRING) {
			if (esc) {
				if (!decode(sh, v + 1, (size_t)(q - v - 1), &a, &b, &lone))
					return nomem(sh);
				fl = (uint8_t)(SF_DEC | (lone ? SF_LONE : 0));
				sh->um_maybe |= lone;
			}
			if (!lone)
				fl |= SF_PRESENT;
		} else {
			int64_t t = tpq_ct_event_ms(v + 1, (size_t)(q - v - 1), esc, &canon);
			if (t != INT64_MIN) {
				ms = t;
				fl = (uint8_t)(SF_TIME_OK | SF_PRESENT |
					       (canon ? SF_TIME_CANON : 0));
			}
			sh->um_maybe |= !canon;
		}
		q++;
		break;
	case TPQ_CTK_STRUCT:
	case TPQ_CTK_MAP:
		if (jt != JT_OBJ)
			goto skip;
		nf = new_frame(sh, fd->kind == TPQ_CTK_MAP ? MAP_SD : (uint32_t)fd->child);
		if (nf < 0)
			return nomem(sh);
		q = parse_obj(sh, nf, v);
		a = (uint32_t)nf;
		fl = SF_PRESENT;
		break;
	case TPQ_CTK_LIST:
		if (jt != JT_ARR)
			goto skip;
		q = parse_list(sh, fd, v, &a, &b);
		fl = SF_PRESENT;
		break;
	default:
	skip:
		/* a value of the wrong JSON type goes to unmapped (JSON-text
		 * columns take any value but null, BOOL columns come here too) */
		if (fd->kind == TPQ_CTK_BOOL) {
			bool tf = jt == JT_TRUE || jt == JT_FALSE;
			fl = tf ? SF_PRESENT : 0;
			sh->um_maybe |= !tf && jt != JT_NULL;
		} else if (fd->kind == TPQ_CTK_JSON) {
			fl = jt != JT_NULL ? SF_PRESENT : 0;
		} else {
			sh->um_maybe |= jt != JT_NULL;
		}
		q = skip_value(sh, v);
		break;
	}
	if (!q)
		return NULL;
	struct slot *d = &sh->slots[si];
	d->off = (uint32_t)(v - sh->rec);
	d->len = (uint32_t)(q - v);
	d->jt = jt;
	d->fl = fl;
	d->a = a;
	d->b = b;
	d->seq = seq;
	d->ms = ms;
	return q;
}

/* The value v of a key the schema does not name (or of a map entry). */
static const uint8_t *parse_keyed(struct tpq_ct_shredder *sh, int32_t fi, const uint8_t *k,
				  size_t kn, bool kesc, const uint8_t *v, bool is_map)
{
	uint8_t vjt = jt_of(*v), vfl = 0;
	uint32_t sdoff = 0, sdlen = 0;
	const uint8_t *q;
	if (vjt == JT_STR) {
		bool esc = false, lone = false;
		q = str_close(sh, v + 1, &esc);
		if (!q)
			return corrupt(sh, sh->end, "unterminated string");
		if (is_map && esc) {
			if (!decode(sh, v + 1, (size_t)(q - v - 1), &sdoff, &sdlen, &lone))
				return nomem(sh);
			vfl = (uint8_t)(SF_DEC | (lone ? SF_LONE : 0));
		}
		q++;
	} else {
		q = skip_value(sh, v);
		if (!q)
			return NULL;
	}
	int32_t ei = keyed_entry(sh, fi, k, kn, kesc);
	if (ei < 0)
		return nomem(sh);
	struct ent *e = &sh->ents[ei];
	/* an unknown key always goes to unmapped; a map entry when its key or
	 * value cannot be a map entry */
	sh->um_maybe |= !is_map || (e->kfl & SF_LONE) || (vfl & SF_LONE) ||
			(vjt != JT_STR && vjt != JT_NULL);
	e->vjt = vjt;
	e->vfl = vfl;
	e->voff = (uint32_t)(v - sh->rec);
	e->vlen = (uint32_t)(q - v);
	e->sdoff = sdoff;
	e->sdlen = sdlen;
	return q;
}

/* An object from its '{' into frame fi; returns the byte after its '}'. */
static const uint8_t *parse_obj(struct tpq_ct_shredder *sh, int32_t fi, const uint8_t *p)
{
	const uint8_t *end = sh->end;
	uint32_t sdi = sh->frames[fi].sd;
	const struct sdef *sd = sdi == MAP_SD ? NULL : &sh->t->sd[sdi];
	const struct fdef *f0 = sd ? &sh->t->f[sd->first] : NULL;
	uint8_t *guess = sd ? &sh->guess_first[sdi] : NULL;
	uint32_t seen = 0; /* frame fi's, stored when the object closes */
	p = tpq__skip_ws(p + 1, end);
	if (p < end && *p == '}')
		return p + 1;
	for (;;) {
		if (p >= end || *p != '"')
			return corrupt(sh, p, "expected a string key");
		const uint8_t *k = p + 1, *ke;
		bool kesc = false;
		int f = -1;
		/* the guess is tried on the raw bytes before the key's end is
		 * known: a match gives both */
		if (sd && *guess && key_is(sh, k, &f0[*guess - 1])) {
			f = *guess - 1;
			ke = k + f0[f].klen;
		} else {
			ke = str_close(sh, k, &kesc);
			if (!ke)
				return corrupt(sh, end, "unterminated string");
		}
		p = tpq__skip_ws(ke + 1, end);
		if (p >= end || *p != ':')
			return corrupt(sh, p, "expected ':'");
		p = tpq__skip_ws(p + 1, end);
		if (p >= end)
			return corrupt(sh, end, "expected a value");
		if (f < 0 && sd)
			f = lookup(sh, sd, k, (size_t)(ke - k), kesc, 0);
		if (f == -2)
			return nomem(sh);
		if (f >= 0) {
			*guess = (uint8_t)(f + 1);
			guess = &sh->guess_next[sd->first + f];
			seen |= UINT32_C(1) << f;
			size_t si = sh->frames[fi].slot0 + (size_t)f;
			const uint8_t *q;
			bool esc = false;
			if (f0[f].kind == TPQ_CTK_STRING && *p == '"' &&
			    (q = str_close(sh, p + 1, &esc)) != NULL && !esc) {
				/* the most common value, a string column's plain string,
				 * as parse_field would store it */
				struct slot *d = &sh->slots[si];
				uint32_t seq = d->jt == JT_NONE ? sh->seq++ : d->seq;
				d->off = (uint32_t)(p - sh->rec);
				d->len = (uint32_t)(q + 1 - p);
				d->jt = JT_STR;
				d->fl = SF_PRESENT;
				d->a = d->b = 0;
				d->seq = seq;
				d->ms = 0;
				p = q + 1;
			} else {
				p = parse_field(sh, &f0[f], si, p);
			}
		} else
			p = parse_keyed(sh, fi, k, (size_t)(ke - k), kesc, p, sd == NULL);
		if (!p)
			return NULL;
		p = tpq__skip_ws(p, end);
		if (p < end && *p == ',') {
			p = tpq__skip_ws(p + 1, end);
			continue;
		}
		if (p < end && *p == '}') {
			sh->frames[fi].seen = seen;
			return p + 1;
		}
		return corrupt(sh, p, "expected ',' or '}'");
	}
}

/* ---------------------------------------------------------------- unmapped */

static void put_str(struct tpq_buf *b, const char *s)
{
	tpq_buf_put(b, s, strlen(s));
}

/* A decoded code point inside a pointer component: RFC 6901 then JSON escaping. */
static void put_ptr_cp(struct tpq_buf *b, uint32_t cp)
{
	static const char hex[] = "0123456789abcdef";
	switch (cp) {
	case '~': put_str(b, "~0"); return;
	case '/': put_str(b, "~1"); return;
	case '"': put_str(b, "\\\""); return;
	case '\\': put_str(b, "\\\\"); return;
	case '\b': put_str(b, "\\b"); return;
	case '\f': put_str(b, "\\f"); return;
	case '\n': put_str(b, "\\n"); return;
	case '\r': put_str(b, "\\r"); return;
	case '\t': put_str(b, "\\t"); return;
	}
	if (cp < 0x20 || (cp >= 0xD800 && cp < 0xE000)) {
		char u[6] = {'\\', 'u', hex[cp >> 12 & 15], hex[cp >> 8 & 15], hex[cp >> 4 & 15],
			     hex[cp & 15]};
		tpq_buf_put(b, u, 6);
		return;
	}
	uint8_t u[4];
	tpq_buf_put(b, u, tpq__utf8_put(u, cp));
}

/* A pointer component from a key's raw string contents: decoded, then
 * escaped (put_ptr_cp). Raw bytes other than '~', '/' and escapes pass
 * through, since they are valid unescaped string content already. */
static void put_ptr_comp(struct tpq_buf *b, const uint8_t *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		size_t run = i;
		while (run < n && s[run] != '\\' && s[run] != '~' && s[run] != '/')
			run++;
		tpq_buf_put(b, s + i, run - i);
		i = run;
		if (i >= n)
			break;
		if (s[i] != '\\') {
			put_ptr_cp(b, s[i]);
			i++;
			continue;
		}
		if (i + 1 >= n)
			break;
		uint32_t cp;
		switch (s[i + 1]) {
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
		case 'u': {
			int32_t u = i + 6 <= n ? tpq__hex4(s + i + 2) : -1;
			if (u < 0) {
				i += 2;
				continue;
			}
			i += 6;
			cp = (uint32_t)u;
			if (cp >= 0xD800 && cp < 0xDC00 && i + 6 <= n && s[i] == '\\' && s[i + 1] == 'u') {
				int32_t lo = tpq__hex4(s + i + 2);
				if (lo >= 0xDC00 && lo < 0xE000) {
					cp = 0x10000 + ((cp - 0xD800) << 10) + ((uint32_t)lo - 0xDC00);
					i += 6;
				}
			}
			put_ptr_cp(b, cp);
			continue;
		}
		default: cp = s[i + 1]; break;
		}
		i += 2;
		put_ptr_cp(b, cp);
	}
}

static void put_index(struct tpq_buf *b, uint32_t i)
{
	char t[10];
	size_t n = 0;
	do {
		t[n++] = (char)('0' + i % 10);
		i /= 10;
	} while (i);
	while (n)
		tpq_buf_put_u8(b, (uint8_t)t[--n]);
}

/* Appends {"<pointer>":<raw value> (or its ',' form): the pointer is written
 * out from the component stack only here, so records without unmapped values
 * never pay for it. */
static void um_add(struct tpq_ct_shredder *sh, uint32_t off, uint32_t len)
{
	struct tpq_buf *u = &sh->um;
	tpq_buf_put_u8(u, u->len ? ',' : '{');
	tpq_buf_put_u8(u, '"');
	for (unsigned i = 0; i < sh->npc; i++) {
		const struct pcomp *c = &sh->pc[i];
		tpq_buf_put_u8(u, '/');
		if (c->kind == PC_KEY)
			tpq_buf_put(u, c->p, c->n);
		else if (c->kind == PC_RAW)
			put_ptr_comp(u, c->p, c->n);
		else
			put_index(u, c->n);
	}
	tpq_buf_put(u, "\":", 2);
	tpq_buf_put(u, sh->rec + off, len);
}

/* The stack is as deep as schema v1's nesting (at most 6), checked at build. */
static void pc_push(struct tpq_ct_shredder *sh, uint8_t kind, const void *p, uint32_t n)
{
	struct pcomp *c = &sh->pc[sh->npc++];
	c->kind = kind;
	c->p = p;
	c->n = n;
}

static void um_frame(struct tpq_ct_shredder *sh, int32_t fi);

/* Unmapped values of known field f of frame fi (the stack: up to the frame). */
static void um_known(struct tpq_ct_shredder *sh, int32_t fi, unsigned f)
{
	const struct tpq_ct_table *t = sh->t;
	const struct fdef *fd = &t->f[t->sd[sh->frames[fi].sd].first + f];
	const struct slot *s = &sh->slots[sh->frames[fi].slot0 + f];
	bool add = false;
	pc_push(sh, PC_KEY, fd->key, fd->klen);
	switch (fd->kind) {
	case TPQ_CTK_STRING:
		add = s->jt == JT_STR ? (s->fl & SF_LONE) != 0 : s->jt != JT_NULL;
		break;
	case TPQ_CTK_JSON:
		break;
	case TPQ_CTK_BOOL:
		add = s->jt != JT_TRUE && s->jt != JT_FALSE && s->jt != JT_NULL;
		break;
	case TPQ_CTK_TIMESTAMP:
		add = s->jt == JT_STR ? !(s->fl & SF_TIME_CANON) : s->jt != JT_NULL;
		break;
	case TPQ_CTK_STRUCT:
		if (s->jt == JT_OBJ)
			um_frame(sh, (int32_t)s->a);
		else
			add = s->jt != JT_NULL;
		break;
	case TPQ_CTK_LIST:
		if (s->jt != JT_ARR) {
			add = s->jt != JT_NULL;
			break;
		}
		uint32_t i = 0;
		for (int32_t ei = (int32_t)s->a; ei >= 0; ei = sh->elems[ei].next, i++) {
			const struct elem *e = &sh->elems[ei];
			if (e->jt == JT_NULL)
				continue;
			pc_push(sh, PC_INDEX, NULL, i);
			if (e->jt == JT_OBJ)
				um_frame(sh, e->frame);
			else
				um_add(sh, e->off, e->len);
			sh->npc--;
		}
		break;
	case TPQ_CTK_MAP:
		if (s->jt != JT_OBJ) {
			add = s->jt != JT_NULL;
			break;
		}
		for (int32_t ei = sh->frames[s->a].head; ei >= 0; ei = sh->ents[ei].next) {
			const struct ent *e = &sh->ents[ei];
			bool bad_val = e->vjt == JT_STR ? (e->vfl & SF_LONE) != 0 : e->vjt != JT_NULL;
			if (!(e->kfl & SF_LONE) && !bad_val)
				continue;
			pc_push(sh, PC_RAW, sh->rec + e->koff, e->klen);
			um_add(sh, e->voff, e->vlen);
			sh->npc--;
		}
		break;
	}
	if (add)
		um_add(sh, s->off, s->len);
	sh->npc--;
}

/* The keys of struct frame fi in first-occurrence order: its present known
 * fields (sorted by seq, fewer than LUT_SIZE / 2) merged with its keyed
 * entries (a list already in that order). */
static void um_frame(struct tpq_ct_shredder *sh, int32_t fi)
{
	const struct frame *fr = &sh->frames[fi];
	const struct sdef *sd = &sh->t->sd[fr->sd];
	const struct slot *slots = &sh->slots[fr->slot0];
	uint8_t order[LUT_SIZE / 2];
	unsigned n = 0;
	for (unsigned i = 0; i < sd->n; i++) {
		if (slots[i].jt == JT_NONE)
			continue;
		unsigned k = n++;
		for (; k > 0 && slots[order[k - 1]].seq > slots[i].seq; k--)
			order[k] = order[k - 1];
		order[k] = (uint8_t)i;
	}
	unsigned k = 0;
	int32_t ei = fr->head;
	while (k < n || ei >= 0) {
		if (ei < 0 || (k < n && slots[order[k]].seq < sh->ents[ei].seq)) {
			um_known(sh, fi, order[k++]);
			continue;
		}
		const struct ent *e = &sh->ents[ei];
		pc_push(sh, PC_RAW, sh->rec + e->koff, e->klen);
		um_add(sh, e->voff, e->vlen);
		sh->npc--;
		ei = e->next;
	}
}

/* ---------------------------------------------------------------- emit */

static void put_string(struct tpq_ct_shredder *sh, struct tpq_pw *w, int col, int rep,
		       uint32_t off, uint32_t len, uint8_t fl, uint32_t doff, uint32_t dlen)
{
	if (fl & SF_DEC)
		tpq_pw_put_bytes(w, col, rep, sh->str.p + doff, dlen);
	else
		tpq_pw_put_bytes(w, col, rep, sh->rec + off + 1, len - 2);
}

/* Absent fields (or null, or of the wrong JSON type) between two present
 * ones: their leaves are consecutive columns at the parent's definition level
 * (each field is OPTIONAL; sdef), so the run is one put however many fields
 * and subtrees it spans. CloudTrail records leave most fields out, often side
 * by side. */
static inline void put_null_run(struct tpq_pw *w, int first, int n, int def, int rep)
{
	if (n == 1)
		tpq_pw_put_null(w, first, def, rep);
	else if (n > 1)
		tpq_pw_put_null_cols(w, first, n, def, rep);
}

static void emit_struct(struct tpq_ct_shredder *sh, struct tpq_pw *w, int32_t fi, int rep);

/* A present field's value(s). */
static inline void emit_field(struct tpq_ct_shredder *sh, struct tpq_pw *w, const struct fdef *fd,
			      const struct slot *s, int rep)
{
	switch (fd->kind) {
	case TPQ_CTK_STRING:
		put_string(sh, w, fd->col, rep, s->off, s->len, s->fl, s->a, s->b);
		break;
	case TPQ_CTK_JSON:
		tpq_pw_put_bytes(w, fd->col, rep, sh->rec + s->off, s->len);
		break;
	case TPQ_CTK_BOOL:
		tpq_pw_put_bool(w, fd->col, rep, s->jt == JT_TRUE);
		break;
	case TPQ_CTK_TIMESTAMP:
		tpq_pw_put_i64(w, fd->col, rep, s->ms);
		break;
	case TPQ_CTK_STRUCT:
		emit_struct(sh, w, (int32_t)s->a, rep);
		break;
	case TPQ_CTK_LIST:
		if (s->b == 0) {
			tpq_pw_put_null_node(w, fd->node, fd->def, rep);
		} else {
			int r = rep;
			for (int32_t ei = (int32_t)s->a; ei >= 0; ei = sh->elems[ei].next) {
				const struct elem *e = &sh->elems[ei];
				if (e->jt == JT_OBJ)
					emit_struct(sh, w, e->frame, r);
				else
					tpq_pw_put_null_node(w, fd->elem_node, fd->edef - 1, r);
				r = fd->rrep;
			}
		}
		break;
	case TPQ_CTK_MAP: {
		int r = rep;
		size_t n = 0;
		for (int32_t ei = sh->frames[s->a].head; ei >= 0; ei = sh->ents[ei].next) {
			const struct ent *e = &sh->ents[ei];
			if (e->kfl & SF_LONE)
				continue;
			n++;
			tpq_pw_put_bytes(w, fd->col, r, ent_key(sh, e), e->kdlen);
			if (e->vjt == JT_STR && !(e->vfl & SF_LONE))
				put_string(sh, w, fd->col2, r, e->voff, e->vlen, e->vfl, e->sdoff,
					   e->sdlen);
			else
				tpq_pw_put_null(w, fd->col2, fd->rdef, r);
			r = fd->rrep;
		}
		if (n == 0) /* an empty map */
			tpq_pw_put_null_node(w, fd->node, fd->def, rep);
		break;
	}
	}
}

/* Only the fields whose key occurred are visited (the frame's bit mask); the
 * columns between the present ones are put as runs of nulls, exactly as a
 * walk over every field would put them. */
static void emit_struct(struct tpq_ct_shredder *sh, struct tpq_pw *w, int32_t fi, int rep)
{
	const struct tpq_ct_table *t = sh->t;
	const struct frame *fr = &sh->frames[fi];
	const struct sdef *sd = &t->sd[fr->sd];
	const struct fdef *f0 = &t->f[sd->first];
	const struct slot *slots = &sh->slots[fr->slot0];
	int next = sd->first_leaf;
	for (uint32_t m = fr->seen; m; m &= m - 1) {
		unsigned i = (unsigned)__builtin_ctz(m);
		const struct fdef *fd = &f0[i];
		if (!(slots[i].fl & SF_PRESENT))
			continue; /* null, or of the wrong type: part of the run */
		put_null_run(w, next, fd->first_leaf - next, sd->null_def, rep);
		emit_field(sh, w, fd, &slots[i], rep);
		next = fd->first_leaf + fd->n_leaves;
	}
	if (sd->n) {
		const struct fdef *last = &f0[sd->n - 1];
		put_null_run(w, next, last->first_leaf + last->n_leaves - next, sd->null_def, rep);
	}
}

enum tpq_status tpq_ct_shred(struct tpq_ct_shredder *sh, struct tpq_pw *w, const uint8_t *rec,
			     size_t len, struct tpq_error *err)
{
	if (len >= UINT32_MAX)
		return tpq_error_set(err, TPQ_ELIMIT, "record too large: 4 GiB or more");
	sh->n_slots = sh->n_frames = sh->n_ents = sh->n_elems = 0;
	if (sh->dn) {
		memset(sh->dtab, 0, sh->dcap * sizeof(uint32_t));
		sh->dn = 0;
	}
	tpq_buf_reset(&sh->str);
	tpq_buf_reset(&sh->um);
	sh->npc = 0;
	sh->seq = 0;
	sh->um_maybe = false;
	sh->st = TPQ_OK;
	sh->rec = rec;
	sh->end = rec + len;
	/* The caller's records are usually cold (split long before, then sorted,
	 * so they sit anywhere in the inflated files): asking for all of the
	 * record's lines at once overlaps the misses that the parse would
	 * otherwise take one after another. */
	for (size_t off = 0; off < len; off += 64)
		__builtin_prefetch(rec + off);

	const uint8_t *p = tpq__skip_ws(rec, sh->end), *q = NULL;
	if (p >= sh->end || *p != '{') {
		corrupt(sh, p, "record is not an object");
	} else {
		int32_t fi = new_frame(sh, 0);
		if (fi < 0)
			nomem(sh);
		else
			q = parse_obj(sh, fi, p);
		if (q && tpq__skip_ws(q, sh->end) != sh->end)
			corrupt(sh, q, "trailing bytes after the record");
	}
	if (sh->st == TPQ_OK && sh->um_maybe) {
		um_frame(sh, 0);
		if (sh->um.len)
			tpq_buf_put_u8(&sh->um, '}');
		enum tpq_status bst = tpq_buf_status(&sh->um);
		if (bst != TPQ_OK)
			sh->st = bst;
	}
	if (sh->st != TPQ_OK) {
		enum tpq_status st = sh->st;
		sh->um.len = 0;
		if (st == TPQ_ECORRUPT) {
			if (err && err->status == TPQ_OK)
				err->offset = (int64_t)sh->eoff;
			return tpq_error_set(err, st, "invalid record: %s", sh->emsg);
		}
		return tpq_error_set(err, st, "out of memory shredding a record");
	}
	emit_struct(sh, w, 0, 0);
	if (sh->um.len)
		tpq_pw_put_bytes(w, sh->t->unmapped_col, 0, sh->um.p, sh->um.len);
	else
		tpq_pw_put_null(w, sh->t->unmapped_col, 0, 0);
	return TPQ_OK;
}
