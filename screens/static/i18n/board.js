// Every word the TV board (/board) shows. Calls are spoken from the service's own
// announcement text (queue.announce_template), with numbers spelled digit by digit.
export default {
  subtitle: "叫号信息",
  nowCalling: "正在呼叫",
  pleaseGo: (w) => `请到 ${w} 号窗口`,
  recall: "重呼",
  noCall: "暂无叫号，请耐心等候",
  recent: "最近叫号",
  noRecent: "暂无",
  waiting: "等候人数",
  people: (n) => `${n} 人`,
  windows: "各窗口",
  windowNo: (n) => `${n}号窗口`,
  serving: "正在办理",
  called: "请到窗口",
  idle: "空闲",
  paused: "暂停服务",
  empty: "暂无人员",
  pausedReason: (r) => (r ? `（${r}）` : ""),
  notice: [
    "请提前准备好身份证件和办事材料",
    "听到叫号请及时到对应窗口；过号后请到窗口或自助终端咨询",
    "办事完成后请在窗口评价器上对本次服务进行评价",
    "老年人、残疾人、孕妇、军人军属等可选择优先取号，窗口将核验资格",
    "需要帮助请找大厅导办员",
  ],
  noticeSep: "　　◆　　",
};
