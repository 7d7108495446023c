// SPDX-License-Identifier: BSD-3-Clause
// The internal JSON writer (lib/env/json_priv.h): layout, nesting, escapes,
// numbers, and every misuse refused with nothing written.
#include <gtest/gtest.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "json_priv.h"

namespace
{

// A writer on a memory stream; text() closes the stream and returns what
// was written.
struct Mem {
	char *buf = nullptr;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct tarn__json j;
	explicit Mem(int style = TARN__JSON_COMPACT)
	{
		tarn__json_init(&j, f, style);
	}
	~Mem()
	{
		if (f != nullptr)
			fclose(f);
		free(buf);
	}
	std::string text()
	{
		fclose(f);
		f = nullptr;
		return std::string(buf, len);
	}
};

std::string escape(const std::string &s)
{
	size_t need = tarn__json_escape(nullptr, 0, s.data(), s.size());
	std::string out(need, '\0');
	EXPECT_EQ(tarn__json_escape(&out[0], out.size(), s.data(), s.size()), need);
	return out;
}

} // namespace

TEST(Json, CompactObjectWithEveryKind)
{
	Mem m;
	tarn__json_object_open(&m.j, nullptr);
	tarn__json_string(&m.j, "event", "stats");
	tarn__json_double(&m.j, "time_s", 1.5, 3);
	tarn__json_uint(&m.j, "big", UINT64_MAX);
	tarn__json_int(&m.j, "neg", INT64_MIN);
	tarn__json_bool(&m.j, "t", 1);
	tarn__json_bool(&m.j, "f", 0);
	tarn__json_null(&m.j, "n");
	tarn__json_string(&m.j, "s", nullptr);
	tarn__json_array_open(&m.j, "ports");
	tarn__json_object_open(&m.j, nullptr);
	tarn__json_uint(&m.j, "port", 0);
	tarn__json_close(&m.j);
	tarn__json_uint(&m.j, nullptr, 7);
	tarn__json_array_open(&m.j, nullptr);
	tarn__json_close(&m.j);
	tarn__json_close(&m.j);
	tarn__json_object_open(&m.j, "empty");
	tarn__json_close(&m.j);
	tarn__json_close(&m.j);
	EXPECT_EQ(tarn__json_finish(&m.j), 0);
	EXPECT_EQ(m.text(), "{\"event\":\"stats\",\"time_s\":1.500,\"big\":18446744073709551615,"
	                    "\"neg\":-9223372036854775808,\"t\":true,\"f\":false,\"n\":null,"
	                    "\"s\":null,\"ports\":[{\"port\":0},7,[]],\"empty\":{}}");
}

TEST(Json, SpacedLayout)
{
	Mem m(TARN__JSON_SPACED);
	tarn__json_object_open(&m.j, nullptr);
	tarn__json_string(&m.j, "family", "ring");
	tarn__json_array_open(&m.j, "a");
	tarn__json_uint(&m.j, nullptr, 1);
	tarn__json_uint(&m.j, nullptr, 2);
	EXPECT_EQ(tarn__json_finish(&m.j), 0); // closes the array and the object
	EXPECT_EQ(m.text(), "{\"family\": \"ring\", \"a\": [1, 2]}");
}

TEST(Json, TopLevelScalarAndNoSecondValue)
{
	Mem m;
	tarn__json_uint(&m.j, nullptr, 42);
	tarn__json_uint(&m.j, nullptr, 43); // a second top-level value: refused
	EXPECT_EQ(tarn__json_finish(&m.j), -EINVAL);
	EXPECT_EQ(m.text(), "42");
}

TEST(Json, DoublesAndNonFinite)
{
	Mem m;
	tarn__json_array_open(&m.j, nullptr);
	tarn__json_double(&m.j, nullptr, 2.0 / 3.0, 4);
	tarn__json_double(&m.j, nullptr, 1234567.6, 0);
	tarn__json_double(&m.j, nullptr, NAN, 3);
	tarn__json_double(&m.j, nullptr, INFINITY, 3);
	tarn__json_double(&m.j, nullptr, -INFINITY, 0);
	tarn__json_double(&m.j, nullptr, 0.5, -3); // negative decimals: 0
	tarn__json_close(&m.j);
	EXPECT_EQ(tarn__json_finish(&m.j), 0);
	EXPECT_EQ(m.text(), "[0.6667,1234568,null,null,null,0]");
}

TEST(Json, MisuseWritesNothingAndIsReported)
{
	struct Case {
		const char *what;
		void (*fn)(struct tarn__json *j);
		const char *written;
	} cases[] = {
		{ "key at the top level", [](struct tarn__json *j) { tarn__json_uint(j, "k", 1); },
		  "" },
		{ "no key in an object",
		  [](struct tarn__json *j) {
		          tarn__json_object_open(j, nullptr);
		          tarn__json_uint(j, nullptr, 1);
		  },
		  "{" },
		{ "a key in an array",
		  [](struct tarn__json *j) {
		          tarn__json_array_open(j, nullptr);
		          tarn__json_string(j, "k", "v");
		  },
		  "[" },
		{ "close with nothing open", [](struct tarn__json *j) { tarn__json_close(j); },
		  "" },
		{ "too deep",
		  [](struct tarn__json *j) {
		          for (int i = 0; i <= TARN__JSON_MAX_DEPTH; i++)
			          tarn__json_array_open(j, nullptr);
		  },
		  nullptr },
	};
	for (const Case &c : cases) {
		Mem m;
		c.fn(&m.j);
		// Nothing more is written after a misuse, finish included.
		tarn__json_uint(&m.j, nullptr, 9);
		EXPECT_EQ(tarn__json_finish(&m.j), -EINVAL) << c.what;
		const std::string out = m.text();
		if (c.written != nullptr)
			EXPECT_EQ(out, c.written) << c.what;
		else
			EXPECT_EQ(out, std::string(TARN__JSON_MAX_DEPTH, '[')) << c.what;
	}
}

TEST(Json, StreamErrorIsEio)
{
	char small[4];
	FILE *f = fmemopen(small, sizeof(small), "w");
	ASSERT_NE(f, nullptr);
	setvbuf(f, nullptr, _IONBF, 0);
	struct tarn__json j;
	tarn__json_init(&j, f, TARN__JSON_COMPACT);
	tarn__json_string(&j, nullptr, "longer than four bytes");
	EXPECT_EQ(tarn__json_finish(&j), -EIO);
	fclose(f);
}

TEST(Json, Escapes)
{
	EXPECT_EQ(escape(""), "\"\"");
	EXPECT_EQ(escape("plain"), "\"plain\"");
	EXPECT_EQ(escape("a\"b\\c"), "\"a\\\"b\\\\c\"");
	EXPECT_EQ(escape("\n\t\r"), "\"\\n\\t\\r\"");
	EXPECT_EQ(escape(std::string("\x01\x1f\x7f", 3)), "\"\\u0001\\u001f\\u007f\"");
	EXPECT_EQ(escape(std::string("a\0b", 3)), "\"a\\u0000b\"");
	// Valid UTF-8 passes as is; what is not becomes U+FFFD, byte by byte.
	EXPECT_EQ(escape("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
	          "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
	EXPECT_EQ(escape("\xff"), "\"\\ufffd\"");
	EXPECT_EQ(escape("\xc3"), "\"\\ufffd\"");                       // cut sequence
	EXPECT_EQ(escape("\xc0\xaf"), "\"\\ufffd\\ufffd\"");            // overlong
	EXPECT_EQ(escape("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\""); // surrogate
	// A writer's strings and keys use the same escapes.
	Mem m;
	tarn__json_object_open(&m.j, nullptr);
	tarn__json_string(&m.j, "k\"", "v\n\xff");
	EXPECT_EQ(tarn__json_finish(&m.j), 0);
	EXPECT_EQ(m.text(), "{\"k\\\"\":\"v\\n\\ufffd\"}");
}

TEST(Json, EscapeNeverWritesPastSize)
{
	const std::string s = "ab\"\x01\xc3\xa9";
	const size_t need = tarn__json_escape(nullptr, 0, s.data(), s.size());
	EXPECT_EQ(need, std::string("\"ab\\\"\\u0001\xc3\xa9\"").size());
	for (size_t size = 0; size <= need; size++) {
		std::string buf(need + 8, '#');
		EXPECT_EQ(tarn__json_escape(&buf[0], size, s.data(), s.size()), need);
		for (size_t i = size; i < buf.size(); i++)
			ASSERT_EQ(buf[i], '#') << "size " << size << ", byte " << i;
	}
}

// The C1 controls (U+0080-U+009F, valid UTF-8) are escaped like C0 ones, so
// a terminal that shows the JSON does not act on them (tarn-top --json);
// the characters around them, and U+00A0 just past them, pass as they are.
TEST(Json, C1ControlsEscaped)
{
	EXPECT_EQ(escape("a\xc2\x80z"), "\"a\\u0080z\"");
	EXPECT_EQ(escape("\xc2\x9b[2J"), "\"\\u009b[2J\"");
	EXPECT_EQ(escape("\xc2\x9f\xc2\xa0"), "\"\\u009f\xc2\xa0\"");
	EXPECT_EQ(escape("\xc2"), "\"\\ufffd\""); // cut before its second byte
}
