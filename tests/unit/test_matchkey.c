/*
 * Unit tests for identity/match/matchkey.h: name keys (width, spaces, middle dots, case,
 * traditional -> simplified) and phone keys (country prefixes, separators, full-width
 * digits, landlines with their area code).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "identity/match/matchkey.h"

static void
assert_name_key(const char *name, const char *want)
{
	char out[MK_NAME_MAX * 2 + 1];
	int r = mk_name_key(name, strlen(name), out, sizeof(out));

	if (r != 0)
		fail_msg("mk_name_key(\"%s\") = %d", name, r);
	if (strcmp(out, want) != 0)
		fail_msg("mk_name_key(\"%s\") = \"%s\", want \"%s\"", name, out, want);
}

static int
name_err(const char *name, size_t len)
{
	char out[MK_NAME_MAX * 2 + 1];
	int r = mk_name_key(name, len, out, sizeof(out));

	if (r != 0)
		assert_string_equal(out, "");
	return r;
}

static void
test_name_basic(void **state)
{
	(void)state;
	assert_name_key("张三", "张三");
	assert_name_key(" 张 三 ", "张三");
	assert_name_key("张\xe3\x80\x80三", "张三");            /* ideographic space */
	assert_name_key("张\xc2\xa0三\t", "张三");               /* NBSP, tab */
	assert_name_key("张\xe2\x80\x8b三", "张三");             /* zero-width space */
	assert_name_key("Zhang San", "zhangsan");
	assert_name_key("\xef\xbc\xba\xef\xbd\x88\xef\xbd\x81\xef\xbd\x8e\xef\xbd\x87", "zhang");
	assert_name_key("ＬＩ　Ｌｅｉ", "lilei");
}

static void
test_name_middle_dots(void **state)
{
	static const char *const forms[] = {
		"买买提·艾力",
		"买买提•艾力",                 /* U+2022 */
		"买买提・艾力",                /* U+30FB */
		"买买提.艾力",
		"买买提‧艾力",                 /* U+2027 */
		"买买提．艾力",                /* U+FF0E */
		"买买提･艾力",                 /* U+FF65 */
		"买买提∙艾力",                 /* U+2219 */
		"买买提⋅艾力",                 /* U+22C5 */
		"买买提ㆍ艾力",                /* U+318D */
		"买买提 · 艾力",
		"买买提··艾力",                /* doubled */
		"·买买提·艾力·",               /* leading and trailing */
		"買買提·艾力",                 /* traditional 買 */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
		assert_name_key(forms[i], "买买提\xc2\xb7" "艾力");
	assert_name_key("阿依古丽·买买提·吐尔逊", "阿依古丽·买买提·吐尔逊");
}

/* Each 3-byte character of trad keys to the character at the same place in simp. */
static void
assert_pairs(const char *trad, const char *simp)
{
	size_t n = strlen(trad);
	char key[8];

	assert_int_equal(n, strlen(simp));
	assert_int_equal(n % 3, 0);
	for (size_t i = 0; i < n; i += 3) {
		assert_int_equal(mk_name_key(trad + i, 3, key, sizeof(key)), 0);
		if (strlen(key) != 3 || memcmp(key, simp + i, 3) != 0)
			fail_msg("%.3s keyed to %s, want %.3s", trad + i, key, simp + i);
	}
}

static void
test_name_traditional(void **state)
{
	/* The 100 commonest surnames: traditional form, then simplified. */
	static const char trad[] =
	    "王李張劉陳楊黃趙吳周徐孫馬朱胡郭何高林羅鄭梁謝宋唐許韓馮鄧曹彭曾蕭田董袁潘于蔣"
	    "蔡余杜葉程蘇魏呂丁任沈姚盧姜崔鍾譚陸汪范金石廖賈夏韋付方白鄒孟熊秦邱江尹薛閆段"
	    "雷侯龍史陶黎賀顧毛郝龔邵萬錢嚴覃武戴莫孔向湯";
	static const char simp[] =
	    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董袁潘于蒋"
	    "蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段"
	    "雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤";
	/* Common given-name characters. */
	static const char gtrad[] =
	    "華國偉麗強東軍紅龍鳳雲蘭輝傑濤順飛鵬嬌豔靜鋒劍貴寶義禮廣興陽進聰穎瑩嬋風聲夢"
	    "慶榮曉樂萬億達璽銘錦鈞學權";
	static const char gsimp[] =
	    "华国伟丽强东军红龙凤云兰辉杰涛顺飞鹏娇艳静锋剑贵宝义礼广兴阳进聪颖莹婵风声梦"
	    "庆荣晓乐万亿达玺铭锦钧学权";

	(void)state;
	assert_int_equal(strlen(trad), 300);
	assert_pairs(trad, simp);
	assert_pairs(gtrad, gsimp);
	assert_name_key("陳國華", "陈国华");
	assert_name_key("歐陽鳳英", "欧阳凤英");
	assert_name_key("司馬 懿", "司马懿");
	/* characters in ordinary simplified use keep their identity */
	assert_name_key("於", "於");
	assert_name_key("乾", "乾");
	/* a compatibility ideograph folds to its unified, then simplified, form */
	assert_int_equal(mk_trad_to_simp(0xf900), 0x5c82);   /* U+F900 = 豈 -> 岂 */
	assert_int_equal(mk_trad_to_simp(0x9673), 0x9648);   /* 陳 -> 陈 */
	assert_int_equal(mk_trad_to_simp('A'), 'A');
	assert_int_equal(mk_trad_to_simp(0x4e00), 0x4e00);
	assert_int_equal(mk_trad_to_simp(0x10ffff), 0x10ffff);
}

static void
test_tradsimp_table(void **state)
{
	size_t n = mk_trad_to_simp_count();
	uint32_t prev = 0, t, s;

	(void)state;
	assert_true(n >= 300);
	for (size_t i = 0; i < n; i++) {
		t = mk_trad_to_simp_entry(i, &s);
		assert_true(t > prev);            /* strictly sorted: binary search works */
		assert_true(s != t);
		assert_true(s != 0);
		assert_int_equal(mk_trad_to_simp(t), s);
		assert_int_equal(mk_trad_to_simp(s), s);  /* no chains: keys are idempotent */
		prev = t;
	}
	assert_int_equal(mk_trad_to_simp_entry(n, &s), 0);
	assert_int_equal(s, 0);
}

static void
test_name_errors(void **state)
{
	char big[MK_NAME_MAX + 2], out[8];

	(void)state;
	assert_int_equal(name_err("", 0), YH_ERR_INVALID);
	assert_int_equal(name_err("  \xe3\x80\x80", 5), YH_ERR_INVALID);
	assert_int_equal(name_err("·", 2), YH_ERR_INVALID);
	assert_int_equal(name_err("\xff张", 4), YH_ERR_INVALID);
	assert_int_equal(name_err("张\xe4\xb8", 5), YH_ERR_INVALID);
	assert_int_equal(name_err("\xc0\xaf", 2), YH_ERR_INVALID);
	assert_int_equal(name_err("张\0三", 7), YH_ERR_INVALID);
	assert_int_equal(name_err("张\x01三", 7), YH_ERR_INVALID);
	memset(big, 'a', sizeof(big));
	assert_int_equal(name_err(big, sizeof(big)), YH_ERR_TOO_LONG);
	assert_int_equal(name_err(big, MK_NAME_MAX), 0);
	/* the output buffer is a bound too: "张三" needs 7 bytes */
	assert_int_equal(mk_name_key("张三", 6, out, 6), YH_ERR_TOO_LONG);
	assert_string_equal(out, "");
	assert_int_equal(mk_name_key("张三", 6, out, 7), 0);
	assert_int_equal(mk_name_key("张三", 6, NULL, 0), YH_ERR_TOO_LONG);
}

static void
assert_phone_key(const char *phone, const char *want)
{
	char out[32];
	int r = mk_phone_key(phone, strlen(phone), out, sizeof(out));

	if (r != 0)
		fail_msg("mk_phone_key(\"%s\") = %d", phone, r);
	if (strcmp(out, want) != 0)
		fail_msg("mk_phone_key(\"%s\") = \"%s\", want \"%s\"", phone, out, want);
}

static void
assert_phone_invalid(const char *phone)
{
	char out[32];
	int r = mk_phone_key(phone, strlen(phone), out, sizeof(out));

	if (r == 0)
		fail_msg("mk_phone_key(\"%s\") accepted as \"%s\"", phone, out);
	assert_string_equal(out, "");
}

static void
test_phone_mobile(void **state)
{
	static const char *const forms[] = {
		"13812345678",
		"138 1234 5678",
		"138-1234-5678",
		"138.1234.5678",
		"(138)12345678",
		"+8613812345678",
		"+86 138 1234 5678",
		"+86-138-1234-5678",
		"86 13812345678",
		"8613812345678",
		"0086 138 1234 5678",
		"0086-13812345678",
		"013812345678",
		"\xef\xbc\x91\xef\xbc\x93\xef\xbc\x98\xef\xbc\x91\xef\xbc\x92\xef\xbc\x93"
		"\xef\xbc\x94\xef\xbc\x95\xef\xbc\x96\xef\xbc\x97\xef\xbc\x98",   /* full-width */
		"\xef\xbc\x8b\xef\xbc\x98\xef\xbc\x96\xe3\x80\x80" "138\xe2\x80\x94" "1234 5678",
		"＋86（138）1234－5678",
	};
	char key[32];

	(void)state;
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
		assert_phone_key(forms[i], "13812345678");
	assert_phone_key("19912345678", "19912345678");
	assert_int_equal(mk_phone_key("13812345678", 11, key, sizeof(key)), 0);
	assert_true(mk_phone_is_mobile(key));
	assert_false(mk_phone_is_mobile("01088886666"));
	assert_false(mk_phone_is_mobile("1381234567"));
	assert_false(mk_phone_is_mobile("138123456789"));
	assert_false(mk_phone_is_mobile("12812345678"));
	assert_false(mk_phone_is_mobile(NULL));
}

static void
test_phone_landline(void **state)
{
	char key[32];

	(void)state;
	assert_phone_key("010-8888 6666", "01088886666");
	assert_phone_key("(010) 8888-6666", "01088886666");
	assert_phone_key("+86 10 8888 6666", "01088886666");
	assert_phone_key("+86 (0)10 8888 6666", "01088886666");
	assert_phone_key("0086-10-88886666", "01088886666");
	assert_phone_key("021-6666 8888", "02166668888");
	assert_phone_key("+86 21 6666 8888", "02166668888");
	assert_phone_key("0755-12345678", "075512345678");
	assert_phone_key("0571-8888888", "05718888888");
	assert_phone_key("０５７１－８８８８８８８", "05718888888");
	assert_int_equal(mk_phone_key("010-8888 6666", 13, key, sizeof(key)), 0);
	assert_false(mk_phone_is_mobile(key));
}

/* The counter's masked names: the family name kept, the rest starred. */
static void
test_name_mask(void **state)
{
	char out[64];

	(void)state;
	mk_name_mask("张三丰", out, sizeof(out));
	assert_string_equal(out, "张**");
	mk_name_mask("李四", out, sizeof(out));
	assert_string_equal(out, "李*");
	mk_name_mask("王", out, sizeof(out));
	assert_string_equal(out, "王");
	mk_name_mask("Li Lei", out, sizeof(out));
	assert_string_equal(out, "L*****");
	mk_name_mask("\xff\xfe" "ab", out, sizeof(out));
	assert_string_equal(out, "****");
	mk_name_mask("张三丰", out, 4);
	assert_string_equal(out, "");
	mk_name_mask(NULL, out, sizeof(out));
	assert_string_equal(out, "");
}

static void
test_phone_invalid(void **state)
{
	char big[80], key[12];

	(void)state;
	assert_phone_invalid("");
	assert_phone_invalid("12345");
	assert_phone_invalid("88886666");                 /* no area code */
	assert_phone_invalid("1381234567");               /* 10 digits */
	assert_phone_invalid("138123456789");             /* 12 digits, not 0 + mobile */
	assert_phone_invalid("12812345678");              /* no such mobile prefix */
	assert_phone_invalid("+1 415 555 0100");          /* not mainland */
	assert_phone_invalid("+852 6123 4567");
	assert_phone_invalid("138-1234-567x");
	assert_phone_invalid("13812345678 ext 12");
	assert_phone_invalid("138+12345678");
	assert_phone_invalid("++8613812345678");
	assert_phone_invalid("010-8888-666");             /* 010 takes 8 digits */
	assert_phone_invalid("0010-88886666");
	assert_phone_invalid("010-88886666-123");         /* an extension */
	assert_phone_invalid("\xff" "13812345678");
	assert_phone_invalid("+86");
	memset(big, '1', sizeof(big));
	assert_int_equal(mk_phone_key(big, sizeof(big), key, sizeof(key)), YH_ERR_TOO_LONG);
	assert_int_equal(mk_phone_key("13812345678", 11, key, 11), YH_ERR_TOO_LONG);
	assert_int_equal(mk_phone_key("13812345678", 11, key, 12), 0);
	assert_string_equal(key, "13812345678");
	assert_int_equal(mk_phone_key("138\0" "12345678", 12, key, 12), YH_ERR_INVALID);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_basic),
		cmocka_unit_test(test_name_middle_dots),
		cmocka_unit_test(test_name_traditional),
		cmocka_unit_test(test_tradsimp_table),
		cmocka_unit_test(test_name_errors),
		cmocka_unit_test(test_phone_mobile),
		cmocka_unit_test(test_phone_landline),
		cmocka_unit_test(test_phone_invalid),
		cmocka_unit_test(test_name_mask),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
