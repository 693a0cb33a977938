"""The workbook contract (SPEC §2): sheet names, headers and enumerations.

These names are a public interface: users type into these sheets and other
tools build workbooks from them.  They are spelled here once; every other
module refers to them through this module.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SheetSpec:
    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    # column → number format kind: money, date, rate, int, decimal, text
    formats: dict = field(default_factory=dict)
    # column → allowed values (drop-down lists in the template)
    choices: dict = field(default_factory=dict)

    @property
    def headers(self) -> tuple[str, ...]:
        return self.required + self.optional


YES_NO = ("是", "否")

PARAMS = "参数"
ITEMS = "收费项目"
UNITS = "房屋"
READINGS = "抄表"
SHARED = "公摊"
CHARGES = "应收"
PAYMENTS = "收款"
WAIVERS = "减免"
CONTACTS = "催缴记录"
PLANS = "分期协议"
COMPLAINTS = "投诉"
ASSISTANTS = "服务助理"
COMMISSION_RULES = "佣金规则"
BANK_BATCHES = "托收批次"
BANK_DEBITS = "托收明细"
HANG = "挂牌"
CAMPAIGNS = "优惠活动"
DEPOSITS = "押金"
RECONCILIATION = "对账"
INVOICING = "开票"

ARREARS = "欠费明细"
RATES = "收缴率"
COMMISSION = "佣金"
TASKS = "催收任务"
DAILY = "催收日报"
PROBLEMS = "问题"
AUDIT = "操作日志"

CHANNELS = ("现金", "托收", "微信", "支付宝", "POS", "转账", "预存冲抵")
REFUND = "退款"  # a 收款 row of 渠道 退款 pays 预存 back to the owner (never fee income, never a reversal)
CAMPAIGN_KINDS = ("赠送月数", "折扣率", "减免金额")
DEPOSIT_KINDS = ("装修押金", "门禁卡押金", "车位押金", "钥匙押金", "其他押金")
CONTACT_METHODS = ("短信", "对讲", "电话", "上门", "催费通知单", "挂牌", "律师函", "诉讼", "催缴函")
CONTACT_RESULTS = ("已送达", "未接通", "承诺缴费", "拒缴", "投诉", "已缴", "已生成")
ARREARS_REASONS = ("经济困难", "服务不满", "遗忘", "联系不上", "恶意拖欠", "其他")
BILLING_METHODS = ("面积", "固定", "用量", "公摊")
HANG_STATUSES = ("待审批", "已批准", "已张贴", "已撤下", "不予批准")
RECONCILE_TYPES = ("已对平", "金额不符", "台账有渠道无", "渠道有台账无", "退款")
INVOICE_STATUSES = ("待开", "已开", "已红冲")

INPUT_SHEETS = {
    s.name: s
    for s in [
        SheetSpec(PARAMS, ("参数", "值"), ("说明",)),
        SheetSpec(
            ITEMS,
            ("项目编码", "项目名称", "计费方式", "单价", "计违约金"),
            ("计费单位", "适用房屋类型", "税收分类编码", "税率"),
            formats={"单价": "price", "税收分类编码": "text", "税率": "rate"},
            choices={"计费方式": BILLING_METHODS, "计违约金": YES_NO},
        ),
        SheetSpec(
            UNITS,
            ("房号", "房屋类型", "建筑面积", "业主姓名"),
            ("楼栋", "单元", "手机", "入住状态", "车位数", "托收", "开户银行", "银行账号", "账户名",
             "服务助理", "短信同意", "开发商持有", "备注"),
            formats={"建筑面积": "decimal", "车位数": "int", "手机": "text", "银行账号": "text"},
            choices={"房屋类型": ("住宅", "商铺", "车位", "储藏室", "办公"), "入住状态": ("已入住", "空置"),
                     "托收": YES_NO, "短信同意": YES_NO, "开发商持有": YES_NO},
        ),
        SheetSpec(
            READINGS,
            ("期间", "房号", "表类型", "上期读数", "本期读数"),
            ("抄表日期", "抄表人", "备注"),
            formats={"上期读数": "decimal", "本期读数": "decimal", "抄表日期": "date"},
            choices={"表类型": ("水", "电")},
        ),
        SheetSpec(
            SHARED,
            ("期间", "项目编码", "总金额", "分摊方式"),
            ("范围",),
            formats={"总金额": "money"},
            choices={"分摊方式": ("面积", "户数")},
        ),
        SheetSpec(
            CHARGES,
            ("账单号", "期间", "房号", "项目编码", "金额", "应缴日期"),
            ("项目名称", "数量", "单价", "来源"),
            formats={"金额": "money", "应缴日期": "date", "数量": "decimal", "单价": "price"},
            choices={"来源": ("计费", "手工")},
        ),
        SheetSpec(
            PAYMENTS,
            ("收据号", "收款日期", "房号", "金额", "渠道"),
            ("指定期间", "经办人", "托收批次", "冲销收据号", "备注", "交易单号"),
            formats={"金额": "money", "收款日期": "date", "交易单号": "text"},
            choices={"渠道": CHANNELS + (REFUND,)},
        ),
        SheetSpec(
            WAIVERS,
            ("日期", "房号", "类型", "金额", "原因", "审批人"),
            ("期间",),
            formats={"金额": "money", "日期": "date"},
            choices={"类型": ("违约金减免", "费用减免")},
        ),
        SheetSpec(
            CONTACTS,
            ("日期", "房号", "方式"),
            ("经办人", "结果", "承诺缴费日", "欠费原因", "送达凭证", "备注"),
            formats={"日期": "date", "承诺缴费日": "date"},
            choices={"方式": CONTACT_METHODS, "结果": CONTACT_RESULTS, "欠费原因": ARREARS_REASONS},
        ),
        SheetSpec(
            PLANS,
            ("协议号", "房号", "签订日期", "总额", "期数", "首期日期"),
            ("间隔月数", "状态"),
            formats={"总额": "money", "签订日期": "date", "首期日期": "date", "期数": "int", "间隔月数": "int"},
            choices={"状态": ("履行中", "已完成", "已违约")},
        ),
        SheetSpec(
            COMPLAINTS,
            ("编号", "房号", "日期", "状态"),
            ("类别", "内容", "解决日期"),
            formats={"日期": "date", "解决日期": "date"},
            choices={"状态": ("处理中", "已解决")},
        ),
        SheetSpec(ASSISTANTS, ("姓名",), ("负责楼栋",)),
        SheetSpec(
            COMMISSION_RULES,
            ("月份", "收缴率下限", "收缴率上限", "金额公式"),
            formats={"月份": "int", "收缴率下限": "rate", "收缴率上限": "rate"},
        ),
        SheetSpec(
            BANK_BATCHES,
            ("批次号", "银行方案", "生成日期", "笔数", "总金额", "状态"),
            ("期间", "回盘日期", "回盘文件摘要", "审批人", "备注"),
            formats={"生成日期": "date", "回盘日期": "date", "笔数": "int", "总金额": "money"},
            choices={"状态": ("待回盘", "已回盘", "已作废")},
        ),
        SheetSpec(
            BANK_DEBITS,
            ("批次号", "序号", "房号", "金额", "结果"),
            ("银行账号", "账户名", "账单号", "失败原因", "回盘日期", "收据号"),
            formats={"序号": "int", "金额": "money", "回盘日期": "date", "银行账号": "text"},
            choices={"结果": ("待回盘", "成功", "失败")},
        ),
        # 挂牌 proposals (written by `feebook dunning`) and their approval (typed by the 服务中心负责人)
        SheetSpec(
            HANG,
            ("房号", "提议日期"),
            ("欠费期数", "欠费金额", "审批人", "审批日期", "张贴日期", "撤下日期", "状态", "备注"),
            formats={"提议日期": "date", "审批日期": "date", "张贴日期": "date", "撤下日期": "date",
                     "欠费期数": "int", "欠费金额": "money"},
            choices={"状态": HANG_STATUSES},
        ),
        # prepayment campaigns (营销活动, seed 004 §4.2 item 10): optional
        SheetSpec(
            CAMPAIGNS,
            ("活动名称", "项目编码", "开始日期", "结束日期", "预缴月数", "优惠方式", "优惠值"),
            ("仅限无欠费", "备注"),
            formats={"开始日期": "date", "结束日期": "date", "预缴月数": "int", "优惠值": "decimal"},
            choices={"优惠方式": CAMPAIGN_KINDS, "仅限无欠费": YES_NO},
        ),
        # deposits (装修押金, 门禁卡押金 …): 金额 negative = 退还; never fee income, prepayment or rate
        SheetSpec(
            DEPOSITS,
            ("日期", "房号", "类型", "金额"),
            ("经办人", "审批人", "备注"),
            formats={"日期": "date", "金额": "money"},
        ),
        # 对账 (written by `feebook reconcile`, one row per channel transaction or unmatched 收款; read back
        # so that importing a statement again adds nothing)
        SheetSpec(
            RECONCILIATION,
            ("对账日期", "来源", "交易单号", "交易时间", "金额", "房号", "收据号", "类型", "说明"),
            ("手续费", "退款单号", "商户订单号"),
            formats={"对账日期": "date", "金额": "money", "手续费": "money", "交易单号": "text",
                     "退款单号": "text", "商户订单号": "text"},
            choices={"类型": RECONCILE_TYPES},
        ),
        # 开票 (written by `feebook invoice`; 状态 待开 → 已开 typed by the clerk once the portal issued it)
        SheetSpec(
            INVOICING,
            ("收据号", "发票流水号", "日期", "状态"),
            ("房号", "价税合计", "税额", "发票号码", "备注"),
            formats={"日期": "date", "价税合计": "money", "税额": "money", "发票号码": "text"},
            choices={"状态": INVOICE_STATUSES},
        ),
    ]
}

OUTPUT_SHEETS = {
    ARREARS: SheetSpec(
        ARREARS,
        ("房号", "楼栋", "业主姓名", "欠费期数", "最早应缴日期", "逾期天数", "欠费本金", "违约金",
         "违约金(法院参考)", "预存余额", "应缴合计", "账龄"),
        ("逾期本金", "欠费期间", "违约金计算", "类别", "服务助理"),
        formats={"最早应缴日期": "date", "逾期天数": "int", "欠费期数": "int", "欠费本金": "money",
                 "违约金": "money", "违约金(法院参考)": "money", "预存余额": "money", "应缴合计": "money",
                 "逾期本金": "money"},
    ),
    RATES: SheetSpec(
        RATES,
        ("期间", "范围", "应收", "实收", "减免", "预存冲抵", "当期收缴率", "当期收缴率(不含减免及预存冲抵)",
         "清欠率", "综合收缴率", "户收费率"),
        ("期初欠费", "清欠金额", "已缴户数", "计费户数", "截至日期", "优惠"),
        formats={"优惠": "money", "应收": "money", "实收": "money", "减免": "money", "预存冲抵": "money", "当期收缴率": "rate",
                 "当期收缴率(不含减免及预存冲抵)": "rate", "清欠率": "rate", "综合收缴率": "rate",
                 "户收费率": "rate", "期初欠费": "money", "清欠金额": "money", "已缴户数": "int",
                 "计费户数": "int", "截至日期": "date"},
    ),
    COMMISSION: SheetSpec(
        COMMISSION,
        ("服务助理", "季度", "月份", "累计收缴率", "档位", "佣金", "下一档所需金额", "建议催收房号"),
        formats={"累计收缴率": "rate", "佣金": "money", "下一档所需金额": "money", "月份": "int"},
    ),
    TASKS: SheetSpec(
        TASKS,
        ("房号", "业主", "阶段", "建议方式", "时段", "欠费金额", "违约金", "上次联系", "欠费原因", "建议话术",
         "诉讼时效届满日"),
        ("负责人", "联系日期", "逾期天数", "欠费期数", "说明"),
        formats={"欠费金额": "money", "违约金": "money", "诉讼时效届满日": "date", "联系日期": "date",
                 "逾期天数": "int", "欠费期数": "int"},
    ),
    DAILY: SheetSpec(DAILY, ("日期", "项目", "数值", "说明")),
    PROBLEMS: SheetSpec(PROBLEMS, ("级别", "工作表", "单元格", "说明")),
    AUDIT: SheetSpec(AUDIT, ("时间", "用户", "操作", "数量", "说明")),
}

ALL_SHEETS = {**INPUT_SHEETS, **OUTPUT_SHEETS}

# 参数 keys with their defaults and explanations (SPEC §2.1).
PARAM_DEFAULTS: tuple[tuple[str, str, str], ...] = (
    ("公司名称", "", "必填：打印在通知单、催缴函上，如 ××物业服务有限公司"),
    ("服务中心", "", "必填：打印在通知单、催缴函上，如 ××花园服务中心"),
    ("客服电话", "", "必填：打印在通知单、催缴函、短信上"),
    ("收款账户", "", "必填：户名 开户行 账号，打印在收费通知单上，如 ××物业服务有限公司 ××银行××支行 6222 …"),
    ("缴费方式", "服务中心前台（现金/POS）、微信、支付宝、银行转账、银行托收", "打印在通知单上"),
    ("计费周期", "季度", "季度 或 月"),
    ("缴费截止日", "25", "每期首月的缴费截止日"),
    ("违约金日费率", "0.0003", "日万分之三"),
    ("违约金宽限天数", "0", "应缴日期后不计违约金的天数"),
    ("违约金上限比例", "", "可选：违约金不超过本金的比例，空白为不设上限"),
    ("冲抵顺序", "先本金后违约金", "先本金后违约金 或 先违约金后本金"),
    ("挂牌欠费期数", "2", "欠费达到此期数可提议挂牌"),
    ("律师函欠费天数", "180", "逾期超过此天数且已有3次以上联系记录可起草律师函"),
    ("诉讼欠费金额", "5000", "欠费达到此金额且无正当理由可列入诉讼"),
    ("诉讼时效预警月数", "30", "自最后一次可证明的催告起，超过此月数预警（时效36个月）"),
    ("提醒提前天数", "5", "应缴日期前多少天起列入“提醒”阶段"),
    ("提醒逾期天数", "7", "逾期不超过此天数为“提醒”阶段（短信、催费通知单）"),
    ("沟通逾期天数", "30", "逾期不超过此天数为“沟通”阶段（电话、对讲），之后为“跟进”（上门、书面催费）"),
    ("律师函联系次数", "3", "起草律师函前至少应有的催缴记录次数"),
    ("律师函付款期限天数", "7", "律师函送达后的付款期限；期满仍未缴方可列入诉讼"),
    ("周末联系", "是", "是：普通周末可电话/上门联系（法定节假日一律不联系）；否：仅工作日"),
    ("挂牌公示方式", "房号+姓氏", "房号+姓氏 / 仅房号 / 不挂牌（当地禁止公示姓名时选 仅房号）"),
    ("短信时段", "09:00-20:00", "短信计划发送时段（法定节假日不发）"),
    ("短信模板", "【{服务中心}】尊敬的{业主}您好：温馨提示，您名下{房号}的物业服务等费用合计{金额}元尚未缴纳，"
              "请于{截止日期}前通过微信、支付宝、银行转账或到服务中心缴纳，如已缴纳请忽略。感谢您的理解与支持！"
              "咨询电话：{客服电话}",
     "短信提醒内容，可用 {业主} {房号} {金额} {截止日期} {客服电话} {服务中心}"),
    ("LPR年利率", "0.030", "一年期LPR，用于违约金法院参考值（LPR×1.5）"),
    ("佣金考核项目", "物业管理费", "佣金按此项目名称的收缴率计算"),
    ("统一社会信用代码", "", "起诉状“原告”栏：公司的统一社会信用代码（18位）"),
    ("法定代表人", "", "起诉状“原告”栏：法定代表人姓名及职务"),
    ("公司住所", "", "起诉状“原告”栏：公司住所（营业执照登记的住所）"),
    ("诉讼违约金口径", "合同", "起诉状主张的违约金：合同（按违约金日费率）或 法院参考（LPR×1.5）；另一口径在计算表中并列"),
    ("开票方式", "每张收据", "数电票：每张收据 或 按房屋按月（同一房屋同一月份的收据合开一张）"),
    ("发票类型", "普通发票", "数电票批量开票的发票类型"),
    ("开票默认项目", "", "违约金、预收款开票所用的项目编码（取其税收分类编码和税率）；空白为第一个计违约金的项目"),
    ("微信账单文件夹", "", "存放微信支付交易账单的文件夹（相对工作簿所在文件夹）；填写后定时任务每天 09:30 对账前一天的账单"),
    ("微信对账自动入账", "否", "是：定时对账时把能识别房号的“渠道有台账无”款项记入收款表"),
)

# 参数 a new center must fill before letters and bank files go out: blank or a sample value is an error
COMPANY_PARAMS = ("公司名称", "服务中心", "客服电话", "收款账户")
PLACEHOLDER_MARKS = ("示例", "××", "xx", "XX", "7559 0000 0000 001", "0755-12345678", "待填")

# 佣金规则 defaults (SPEC §4.6, seed 004 §5): month, lower, upper, formula.
COMMISSION_RULE_DEFAULTS: tuple[tuple[int, str, str, str], ...] = (
    (1, "0", "0.8", "50"),
    (1, "0.8", "0.95", "2000*收缴率-1400"),
    (1, "0.95", "", "500"),
    (2, "0", "0.8", "0"),
    (2, "0.8", "0.95", "3000*收缴率-2350"),
    (2, "0.95", "", "500"),
    (3, "0", "0.8", "-100"),
    (3, "0.8", "0.95", "4000*收缴率-3500"),
    (3, "0.95", "", "500"),
)
