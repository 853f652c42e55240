/*
 * s3/s3_free.c — freeing the result structs of s3.h, and the small
 * accessors of struct s3_meta.
 *
 * Every *_free here accepts a zeroed or already freed struct (and NULL) and
 * leaves the struct zeroed, so a caller may free twice.  Nothing here does
 * I/O or knows about XML or HTTP.
 */
#include "s3.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void s3_list_page_free(struct s3_list_page *page)
{
	if (!page)
		return;
	for (size_t i = 0; i < page->n_entries; i++)
		free(page->entries[i].key);
	free(page->entries);
	for (size_t i = 0; i < page->n_prefixes; i++)
		free(page->prefixes[i]);
	free(page->prefixes);
	free(page->next_token);
	memset(page, 0, sizeof(*page));
}

void s3_upload_list_free(struct s3_upload_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free(l->uploads[i].key);
		free(l->uploads[i].upload_id);
	}
	free(l->uploads);
	free(l->next_key_marker);
	free(l->next_upload_id_marker);
	memset(l, 0, sizeof(*l));
}

void s3_delete_failures_free(struct s3_delete_failure *f, size_t n)
{
	if (!f)
		return;
	for (size_t i = 0; i < n; i++)
		free(f[i].key);
	free(f);
}

void s3_meta_free(struct s3_meta *m)
{
	if (!m)
		return;
	free(m->content_type);
	for (size_t i = 0; i < m->n; i++) {
		free(m->kv[i].name);
		free(m->kv[i].value);
	}
	free(m->kv);
	memset(m, 0, sizeof(*m));
}

void s3_object_info_free(struct s3_object_info *info)
{
	if (!info)
		return;
	s3_meta_free(&info->meta);
}

/* Names are kept lower case (set lowers them); the lookup ignores ASCII
 * case so that a caller's "Mode" finds "mode". */
const char *s3_meta_get(const struct s3_meta *m, const char *name)
{
	if (!m || !name)
		return NULL;
	for (size_t i = 0; i < m->n; i++)
		if (strcasecmp(m->kv[i].name, name) == 0)
			return m->kv[i].value;
	return NULL;
}

/* Copies both strings; the name is stored in ASCII lower case.  On failure
 * m is unchanged.  0, EINVAL (NULL or empty name, NULL value) or ENOMEM. */
int s3_meta_set(struct s3_meta *m, const char *name, const char *value)
{
	struct s3_meta_kv *kv;
	char *n, *v;

	if (!m || !name || !name[0] || !value)
		return EINVAL;
	v = strdup(value);
	if (!v)
		return ENOMEM;
	for (size_t i = 0; i < m->n; i++) {
		if (strcasecmp(m->kv[i].name, name) == 0) {
			free(m->kv[i].value);
			m->kv[i].value = v;
			return 0;
		}
	}
	n = strdup(name);
	if (!n)
		goto nomem;
	for (char *p = n; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	kv = realloc(m->kv, (m->n + 1) * sizeof(*kv));
	if (!kv)
		goto nomem;
	m->kv = kv;
	m->kv[m->n++] = (struct s3_meta_kv){.name = n, .value = v};
	return 0;
nomem:
	free(n);
	free(v);
	return ENOMEM;
}
