/*
 * The yardstick for dts.curl: the same POST, sent N times in a row by plain
 * libcurl over one easy handle (one kept-alive connection), with the answer
 * collected in memory as dts.curl does.  Built and run by `make bench`
 * (bench/run.lua writes the request file).
 *
 *   curl_loop URL CA_FILE N REQUEST_FILE
 *
 * REQUEST_FILE: "Name: value" header lines, an empty line, then the body.
 * Prints "<calls> <seconds>" on success; the first request (connection,
 * TLS handshake) comes before the timing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "yardstick.h"

struct sink {
	char *data;
	size_t len, cap;
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct sink *s = ud;
	size_t add = size * n;

	if (s->len + add > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 4096;
		char *grown;

		while (cap < s->len + add)
			cap *= 2;
		grown = realloc(s->data, cap);
		if (grown == NULL)
			return 0;
		s->data = grown;
		s->cap = cap;
	}
	memcpy(s->data + s->len, p, add);
	s->len += add;
	return add;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	(*(size_t *)ud)++;
	return size * n;
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (data = malloc((size_t)n + 1)) != NULL) {
		*len = fread(data, 1, (size_t)n, f);
		data[*len] = '\0';
	}
	fclose(f);
	return data;
}

int main(int argc, char **argv)
{
	struct curl_slist *headers = NULL;
	struct sink body = { NULL, 0, 0 };
	size_t len = 0, nheaders = 0;
	char *request, *line, *payload;
	long i, calls, status = 0;
	double start;
	CURL *curl;

	if (argc != 5 || (calls = strtol(argv[3], NULL, 10)) <= 0) {
		fprintf(stderr, "usage: curl_loop URL CA_FILE N REQUEST_FILE\n");
		return 2;
	}
	request = read_all(argv[4], &len);
	if (request == NULL || (payload = strstr(request, "\n\n")) == NULL) {
		fprintf(stderr, "curl_loop: cannot read %s\n", argv[4]);
		return 2;
	}
	*payload = '\0';
	payload += 2;
	for (line = strtok(request, "\n"); line != NULL; line = strtok(NULL, "\n"))
		headers = curl_slist_append(headers, line);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	curl = curl_easy_init();
	if (curl == NULL)
		return 1;
	curl_easy_setopt(curl, CURLOPT_URL, argv[1]);
	curl_easy_setopt(curl, CURLOPT_CAINFO, argv[2]);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
			 (curl_off_t)(len - (size_t)(payload - request)));
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, payload);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &nheaders);
	start = now();
	for (i = -1; i < calls; i++) { /* -1: the connection, outside the timing */
		CURLcode rc;

		if (i == 0)
			start = now();
		body.len = 0;
		rc = curl_easy_perform(curl);
		if (rc != CURLE_OK) {
			fprintf(stderr, "curl_loop: %s\n", curl_easy_strerror(rc));
			return 1;
		}
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
		if (status != 200) {
			fprintf(stderr, "curl_loop: HTTP %ld\n", status);
			return 1;
		}
	}
	printf("%ld %.6f\n", calls, now() - start);
	curl_easy_cleanup(curl);
	curl_slist_free_all(headers);
	free(body.data);
	free(request);
	return 0;
}
