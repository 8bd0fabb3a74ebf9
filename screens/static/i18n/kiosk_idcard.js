// Every word of 刷身份证取号 on the kiosk (kiosk_idcard.js holds no text).
export default {
  prompt: "刷身份证取号：请将身份证放在读卡区，再点选业务",
  needsPairing: "刷身份证取号需要先配对本机：请技术员在运维页面生成配对码，点屏幕下方“本机未配对”输入。现在可直接点选业务取号",
  promptSpeak: "可以刷身份证取号。请将身份证放在读卡区。",
  read: (name, age) => (age != null ? `已读取身份证：${name}，${age}岁` : `已读取身份证：${name}`),
  readSub: "请点选要办理的业务；号票上只显示您的姓氏",
  readSpeak: (name) => `已读取${name}的身份证，请点选要办理的业务。`,
  appointment: (cat, from, to) => `您今天有预约：${cat}（${from}–${to}），请点选“${cat}”签到`,
  clear: "不用身份证",
  expired: "身份证信息已过期，请重新放置身份证",
  priorityTitle: "绿色通道",
  priorityBody: (age) => `您已年满${age}周岁，可以走绿色通道（优先办理）。需要吗？`,
  priorityYes: "走绿色通道",
  priorityNo: "普通取号",
  holder: (name) => `取号人：${name}`,
};
