// Every word of the monthly report's break-time section (离岗时长统计). Reason names come from the config.
export default {
  title: "七、暂停服务（离岗）时长",
  loading: "正在统计暂停服务时长…",
  summary: (min, n) => `本月各窗口暂停服务共 ${min} 分钟，涉及工作人员 ${n} 人（按暂停原因分列，单位：分钟）。`,
  none: "本月无暂停服务记录。",
  perDay: "按日统计",
  clerk: "工作人员",
  day: "日期",
  total: "合计(分)",
  col: (label) => `${label}(分)`,
};
