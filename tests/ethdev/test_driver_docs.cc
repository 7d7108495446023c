// SPDX-License-Identifier: BSD-3-Clause
// The key tables of docs/drivers/*.md against the drivers' key tables: each
// page holds, between two markers, the table tarn__keys_markdown() makes
// from the driver's keys (docs/drivers/README.md: the generic keys), so a
// key's range, default and help in the docs are those the code checks.
//
//   TARN_DOCS_UPDATE=1 build/tests/ethdev/test_driver_docs
// rewrites the tables in place (after a change to a key table).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <tarn/tarn_ethdev.h>

#include "ethdev_driver_priv.h"

namespace
{

const std::string begin_mark = "<!-- keys: generated from the key table";
const std::string end_mark = "<!-- end of keys -->";

std::string markdown(const struct tarn__key *keys)
{
	char *buf = nullptr;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (f == nullptr)
		return "";
	tarn__keys_markdown(keys, f);
	fclose(f);
	std::string s(buf, len);
	free(buf);
	return s;
}

std::string read_file(const std::string &path)
{
	std::ifstream in(path);
	std::stringstream ss;
	ss << in.rdbuf();
	return ss.str();
}

// Check (or with TARN_DOCS_UPDATE=1 rewrite) the table of `page`.
void check_page(const std::string &page, const std::string &source, const struct tarn__key *keys)
{
	const std::string path = std::string(TARN_SOURCE_ROOT) + "/docs/drivers/" + page;
	std::string text = read_file(path);
	ASSERT_FALSE(text.empty()) << path << " is missing or empty";
	const size_t b = text.find(begin_mark);
	ASSERT_NE(b, std::string::npos) << path << ": no line starting with '" << begin_mark << "'";
	const size_t body = text.find('\n', b);
	ASSERT_NE(body, std::string::npos);
	const size_t e = text.find(end_mark, body);
	ASSERT_NE(e, std::string::npos) << path << ": no '" << end_mark << "' after the table";
	const std::string want = markdown(keys);
	const std::string have = text.substr(body + 1, e - body - 1);
	if (have == want)
		return;
	const char *update = getenv("TARN_DOCS_UPDATE");
	if (update != nullptr && std::string(update) == "1") {
		text.replace(body + 1, e - body - 1, want);
		std::ofstream out(path);
		out << text;
		ASSERT_TRUE(out.good()) << "cannot write " << path;
		printf("rewrote the key table of %s\n", path.c_str());
		return;
	}
	ADD_FAILURE() << path << ": the key table is not the one " << source
	              << " declares; run TARN_DOCS_UPDATE=1 "
	              << "build/tests/ethdev/test_driver_docs"
	              << " to rewrite it. Expected:\n"
	              << want << "\nfound:\n"
	              << have;
}

TEST(DriverDocs, EveryBuiltDriverHasItsKeyTable)
{
	for (unsigned i = 0; i < tarn_eth_driver_count(); i++) {
		const std::string name = tarn_eth_driver_name(i);
		const struct tarn__eth_driver *drv = tarn__eth_driver_find(name.c_str());
		ASSERT_NE(drv, nullptr) << name;
		check_page(name + ".md", "drivers/net/" + name, drv->keys);
	}
}

TEST(DriverDocs, GenericKeys)
{
	check_page("README.md", "lib/ethdev/driver.c (tarn__eth_generic_keys)",
	           tarn__eth_generic_keys);
}

} // namespace
