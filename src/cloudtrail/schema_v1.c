/* CloudTrail schema v1 (see schema_v1.h). Columns and their order follow the
 * Athena CloudTrail table of AWS's documentation, lower-cased, extended to
 * everything CloudTrail documents up to eventVersion 1.11. */
#include "cloudtrail/schema_v1.h"

#include "util/error.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define LEAF(k, c, kind, fl) {k, c, kind, NULL, 0, fl}
#define S(k, c) LEAF(k, c, TPQ_CTK_STRING, 0)
#define GROUP(k, c, kind, ch) {k, c, kind, ch, N(ch), 0}

static const struct tpq_ct_field session_issuer[] = {
	S("type", "type"), S("principalId", "principalid"), S("arn", "arn"),
	S("accountId", "accountid"), S("userName", "username"),
};

static const struct tpq_ct_field web_id_federation[] = {
	S("federatedProvider", "federatedprovider"),
	LEAF("attributes", "attributes", TPQ_CTK_MAP, 0),
};

static const struct tpq_ct_field session_attributes[] = {
	S("creationDate", "creationdate"), S("mfaAuthenticated", "mfaauthenticated"),
};

static const struct tpq_ct_field session_context[] = {
	GROUP("sessionIssuer", "sessionissuer", TPQ_CTK_STRUCT, session_issuer),
	GROUP("webIdFederationData", "webidfederationdata", TPQ_CTK_STRUCT, web_id_federation),
	GROUP("attributes", "attributes", TPQ_CTK_STRUCT, session_attributes),
	S("sourceIdentity", "sourceidentity"), S("ec2RoleDelivery", "ec2roledelivery"),
	S("assumedRoot", "assumedroot"), S("signInSessionArn", "signinsessionarn"),
	S("ec2IssuedInVPC", "ec2issuedinvpc"),
};

static const struct tpq_ct_field on_behalf_of[] = {
	S("userId", "userid"), S("identityStoreArn", "identitystorearn"),
};

static const struct tpq_ct_field in_scope_of[] = {
	S("sourceArn", "sourcearn"), S("sourceAccount", "sourceaccount"),
	S("issuerType", "issuertype"), S("credentialsIssuedTo", "credentialsissuedto"),
};

static const struct tpq_ct_field invoked_by_delegate[] = {
	S("accountId", "accountid"),
};

/* Bloom filters on the columns responders look up by one value: few bytes for
 * a dictionary column (hashed once per distinct value), and on a real bucket,
 * where most files lack a given event name, user or error, an engine skips
 * those files' row groups without reading them. */
static const struct tpq_ct_field user_identity[] = {
	S("type", "type"), LEAF("principalId", "principalid", TPQ_CTK_STRING, TPQ_COL_BLOOM),
	LEAF("arn", "arn", TPQ_CTK_STRING, TPQ_COL_BLOOM),
	S("accountId", "accountid"), S("invokedBy", "invokedby"),
	LEAF("accessKeyId", "accesskeyid", TPQ_CTK_STRING, TPQ_COL_BLOOM),
	LEAF("userName", "username", TPQ_CTK_STRING, TPQ_COL_BLOOM), S("credentialId", "credentialid"),
	S("identityProvider", "identityprovider"),
	GROUP("onBehalfOf", "onbehalfof", TPQ_CTK_STRUCT, on_behalf_of),
	GROUP("inScopeOf", "inscopeof", TPQ_CTK_STRUCT, in_scope_of),
	GROUP("invokedByDelegate", "invokedbydelegate", TPQ_CTK_STRUCT, invoked_by_delegate),
	GROUP("sessionContext", "sessioncontext", TPQ_CTK_STRUCT, session_context),
};

static const struct tpq_ct_field resource[] = {
	S("ARN", "arn"), S("accountId", "accountid"), S("type", "type"), S("ARNPrefix", "arnprefix"),
};

static const struct tpq_ct_field addendum[] = {
	S("reason", "reason"), S("updatedFields", "updatedfields"),
	S("originalRequestID", "originalrequestid"), S("originalEventID", "originaleventid"),
};

static const struct tpq_ct_field tls_details[] = {
	S("tlsVersion", "tlsversion"), S("cipherSuite", "ciphersuite"),
	S("clientProvidedHostHeader", "clientprovidedhostheader"), S("keyExchange", "keyexchange"),
};

const struct tpq_ct_field tpq_ct_fields[] = {
	S("eventVersion", "eventversion"),
	GROUP("userIdentity", "useridentity", TPQ_CTK_STRUCT, user_identity),
	LEAF("eventTime", "eventtime", TPQ_CTK_TIMESTAMP, TPQ_COL_DELTA),
	LEAF("eventSource", "eventsource", TPQ_CTK_STRING, TPQ_COL_BLOOM),
	LEAF("eventName", "eventname", TPQ_CTK_STRING, TPQ_COL_BLOOM),
	S("awsRegion", "awsregion"),
	LEAF("sourceIPAddress", "sourceipaddress", TPQ_CTK_STRING, TPQ_COL_BLOOM),
	S("userAgent", "useragent"),
	LEAF("errorCode", "errorcode", TPQ_CTK_STRING, TPQ_COL_BLOOM),
	S("errorMessage", "errormessage"),
	LEAF("requestParameters", "requestparameters", TPQ_CTK_JSON, 0),
	LEAF("responseElements", "responseelements", TPQ_CTK_JSON, 0),
	LEAF("additionalEventData", "additionaleventdata", TPQ_CTK_JSON, 0),
	/* ids: nearly all distinct, most of one length: no dictionary, lengths
	 * apart from the characters (DELTA_LENGTH_BYTE_ARRAY) */
	LEAF("requestID", "requestid", TPQ_CTK_STRING, TPQ_COL_BLOOM | TPQ_COL_DELTA),
	LEAF("eventID", "eventid", TPQ_CTK_STRING, TPQ_COL_BLOOM | TPQ_COL_DELTA),
	GROUP("resources", "resources", TPQ_CTK_LIST, resource),
	S("eventType", "eventtype"),
	S("apiVersion", "apiversion"),
	LEAF("readOnly", "readonly", TPQ_CTK_BOOL, 0),
	S("recipientAccountId", "recipientaccountid"),
	LEAF("serviceEventDetails", "serviceeventdetails", TPQ_CTK_JSON, 0),
	S("sharedEventID", "sharedeventid"),
	S("vpcEndpointId", "vpcendpointid"),
	S("vpcEndpointAccountId", "vpcendpointaccountid"),
	S("eventCategory", "eventcategory"),
	GROUP("addendum", "addendum", TPQ_CTK_STRUCT, addendum),
	S("sessionCredentialFromConsole", "sessioncredentialfromconsole"),
	LEAF("edgeDeviceDetails", "edgedevicedetails", TPQ_CTK_JSON, 0),
	GROUP("tlsDetails", "tlsdetails", TPQ_CTK_STRUCT, tls_details),
	LEAF("managementEvent", "managementevent", TPQ_CTK_BOOL, 0),
	LEAF("insightDetails", "insightdetails", TPQ_CTK_JSON, 0),
};
const size_t tpq_ct_n_fields = N(tpq_ct_fields);

const char *const tpq_ct_partition_columns[5] = {"account", "region", "year", "month", "day"};

static size_t count(const struct tpq_ct_field *f, size_t n)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++) {
		c++;
		if (f[i].kind == TPQ_CTK_STRUCT || f[i].kind == TPQ_CTK_LIST)
			c += count(f[i].children, f[i].n_children);
	}
	return c;
}

size_t tpq_ct_count_fields(void)
{
	return count(tpq_ct_fields, tpq_ct_n_fields);
}

/* Adds fields under `parent`; returns -1 on failure. *k walks `nodes`. */
static int add_fields(struct tpq_schema *s, int parent, const struct tpq_ct_field *f, size_t n,
		      int *nodes, size_t n_nodes, size_t *k)
{
	for (size_t i = 0; i < n; i++) {
		int node = -1, list;
		switch (f[i].kind) {
		case TPQ_CTK_STRING:
		case TPQ_CTK_JSON:
			node = tpq_schema_string(s, parent, f[i].column, TPQ_OPTIONAL, f[i].flags);
			break;
		case TPQ_CTK_BOOL:
			node = tpq_schema_leaf(s, parent, f[i].column, TPQ_OPTIONAL, TPQ_T_BOOLEAN, NULL,
					       f[i].flags);
			break;
		case TPQ_CTK_TIMESTAMP:
			node = tpq_schema_timestamp_ms(s, parent, f[i].column, TPQ_OPTIONAL, f[i].flags);
			break;
		case TPQ_CTK_MAP:
			list = tpq_schema_map(s, parent, f[i].column, TPQ_OPTIONAL);
			if (list < 0 || tpq_schema_string(s, list, "key", TPQ_REQUIRED, 0) < 0 ||
			    tpq_schema_string(s, list, "value", TPQ_OPTIONAL, 0) < 0)
				return -1;
			node = s->nodes[list].parent;
			break;
		case TPQ_CTK_STRUCT:
		case TPQ_CTK_LIST:
			if (f[i].kind == TPQ_CTK_STRUCT) {
				node = tpq_schema_group(s, parent, f[i].column, TPQ_OPTIONAL);
				list = node;
			} else {
				list = tpq_schema_list(s, parent, f[i].column, TPQ_OPTIONAL);
				if (list < 0)
					return -1;
				node = s->nodes[list].parent;
				list = tpq_schema_group(s, list, "element", TPQ_OPTIONAL);
			}
			if (node < 0 || list < 0)
				return -1;
			if (nodes && *k < n_nodes)
				nodes[*k] = node;
			(*k)++;
			if (add_fields(s, list, f[i].children, f[i].n_children, nodes, n_nodes, k))
				return -1;
			continue;
		}
		if (node < 0)
			return -1;
		if (nodes && *k < n_nodes)
			nodes[*k] = node;
		(*k)++;
	}
	return 0;
}

enum tpq_status tpq_ct_schema_build(struct tpq_schema *s, int *nodes, size_t n_nodes,
				    int *unmapped_leaf, struct tpq_error *err)
{
	size_t k = 0;
	if (nodes && n_nodes < tpq_ct_count_fields())
		return tpq_error_set(err, TPQ_EINVAL, "node map too small");
	if (add_fields(s, 0, tpq_ct_fields, tpq_ct_n_fields, nodes, n_nodes, &k))
		return tpq_error_set(err, TPQ_ENOMEM, "out of memory building schema v1");
	int un = tpq_schema_string(s, 0, "unmapped", TPQ_OPTIONAL, 0);
	if (un < 0)
		return tpq_error_set(err, TPQ_ENOMEM, "out of memory building schema v1");
	enum tpq_status st = tpq_schema_finish(s, err);
	if (st == TPQ_OK && unmapped_leaf)
		*unmapped_leaf = s->nodes[un].leaf;
	return st;
}
