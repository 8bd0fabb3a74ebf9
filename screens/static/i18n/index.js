// Words on the service's start page (/), which lists the hall's screens.
export default {
  subtitle: "大厅服务 · 屏幕入口",
  title: "请选择本机要显示的屏幕",
  hint: "每台设备打开一个屏幕：自助终端用触摸屏，叫号大屏用电视，窗口工作台用窗口电脑，评价器用窗口平板。",
  kiosk: ["自助终端", "取号、办事指南、进度查询等（触摸屏）"],
  board: ["叫号大屏", "叫号显示与语音播报（电视）"],
  clerk: ["窗口工作台", "窗口人员登录、叫号、受理登记"],
  evaluator: ["评价器", "窗口平板：服务评价"],
  evaluatorFor: (n) => `${n}号窗口`,
  manager: ["管理页面", "大厅主任：实时情况与统计"],
  tech: ["技术维护", "设备状态与测试"],
  agent: ["村代办员", "村（社区）代办员：代办登记、台账、值班（手机或村部电脑）"],
  villages: ["村站管理", "村便民服务站：村站与代办员、监督、抽查"],
};
