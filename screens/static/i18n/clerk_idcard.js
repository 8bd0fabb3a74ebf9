// Every word of the clerk console's ID-card box (clerk_idcard.js holds no text).
export default {
  holder: (name, band) => `持证取号人：${name}（${band}）`,
  prefill: (name, cert) => `可用身份证信息登记：${name}　${cert}`,
  prefillUse: "用身份证信息填写",
  prefillOn: "将使用身份证信息（号码只存入办件，不在屏幕显示）",
  prefillOff: "不用身份证信息",
};
