"""Oracle for NetGen.Detection: torchvision 0.14's box_iou / nms / batched_nms, torch autograd of the YOLO loss
formula, and an independent NumPy implementation of the PASCAL VOC devkit's voc_eval (all-point AP).
Usage: detection_oracle.py input.json output.json"""
import json
import sys

import numpy as np
import torch
import torchvision

torch.set_num_threads(1)


def boxes_of(rows):
    return torch.tensor(rows, dtype=torch.float32).reshape(-1, 4)


def iou_cases(cases):
    out = []
    for c in cases:
        m = torchvision.ops.box_iou(boxes_of(c["a"]), boxes_of(c["b"]))
        out.append([None if v != v else float(v) for v in m.flatten().tolist()])
    return out


def nms_cases(cases):
    out = []
    for c in cases:
        b, s = boxes_of(c["boxes"]), torch.tensor(c["scores"], dtype=torch.float32)
        keep = torchvision.ops.nms(b, s, c["iou"]).tolist()
        classes = torch.tensor(c["classes"], dtype=torch.int64)
        batched = torchvision.ops.batched_nms(b, s, classes, c["iou"]).tolist()
        out.append({"nms": keep, "batched": batched})
    return out


def sigmoid(x):
    return 1 / (1 + torch.exp(-x))


def softplus(x):
    return torch.nn.functional.softplus(x)


def yolo_case(c):
    """The YOLO loss written again from its documented formula, in float64, differentiated by autograd."""
    S, B, C, M = c["grid"], c["boxes"], c["classes"], c["maxObjects"]
    anchors = c["anchors"]
    lc, ln = c["lambdaCoord"], c["lambdaNoObject"]
    batch = c["batch"]
    out = torch.tensor(c["output"], dtype=torch.float64).reshape(batch, B, 5 + C, S, S).requires_grad_(True)
    tgt = c["target"]
    total = torch.zeros((), dtype=torch.float64)
    for n in range(batch):
        assigned = {}
        for o in range(M):
            row = tgt[(n * M + o) * 5:(n * M + o) * 5 + 5]
            if row[0] < 0:
                continue
            cls, x1, y1, x2, y2 = row
            w, h = x2 - x1, y2 - y1
            col = min(max(int((x1 + x2) / 2 * S), 0), S - 1)
            r = min(max(int((y1 + y2) / 2 * S), 0), S - 1)
            best, best_iou = -1, -1.0
            for b in range(B):
                if (r, col, b) in assigned:
                    continue
                aw, ah = anchors[b]
                inter = np.float32(min(aw, w)) * np.float32(min(ah, h))
                iou = inter / (np.float32(aw * ah) + np.float32(w * h) - inter)
                if iou > best_iou:
                    best, best_iou = b, iou
            if best >= 0:
                assigned[(r, col, best)] = (int(cls), x1, y1, x2, y2)
        for r in range(S):
            for col in range(S):
                for b in range(B):
                    v = out[n, b, :, r, col]
                    if (r, col, b) not in assigned:
                        total = total + ln * softplus(v[4])
                        continue
                    cls, x1, y1, x2, y2 = assigned[(r, col, b)]
                    gx, gy = (x1 + x2) / 2 * S - col, (y1 + y2) / 2 * S - r
                    aw, ah = anchors[b]
                    lw, lh = np.log((x2 - x1) / aw), np.log((y2 - y1) / ah)
                    total = total + lc * ((sigmoid(v[0]) - gx) ** 2 + (sigmoid(v[1]) - gy) ** 2 + (v[2] - lw) ** 2 + (v[3] - lh) ** 2)
                    total = total + softplus(-v[4])
                    total = total + torch.logsumexp(v[5:], 0) - v[5 + cls]
    total = total / batch
    total.backward()
    return {"loss": total.item(), "gradient": out.grad.flatten().tolist()}


def voc_ap(rec, prec):
    mrec = np.concatenate(([0.0], rec, [1.0]))
    mpre = np.concatenate(([0.0], prec, [0.0]))
    for i in range(mpre.size - 1, 0, -1):
        mpre[i - 1] = np.maximum(mpre[i - 1], mpre[i])
    i = np.where(mrec[1:] != mrec[:-1])[0]
    return np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1])


def voc_eval(images, cls, ovthresh):
    """voc_eval of the VOC devkit (py-faster-rcnn's port), continuous IoU, no 'difficult' flags."""
    recs = {}
    npos = 0
    for k, im in enumerate(images):
        R = [g for g in im["truth"] if g[0] == cls]
        recs[k] = {"bbox": np.array([g[1:] for g in R], dtype=np.float64).reshape(-1, 4), "det": [False] * len(R)}
        npos += len(R)
    image_ids, confidence, BB = [], [], []
    for k, im in enumerate(images):
        for d in im["detections"]:
            if d[0] == cls:
                image_ids.append(k)
                confidence.append(d[1])
                BB.append(d[2:])
    if npos == 0:
        return None
    if len(BB) == 0:
        return 0.0
    confidence = np.array(confidence, dtype=np.float64)
    BB = np.array(BB, dtype=np.float64)
    order = np.argsort(-confidence, kind="stable")
    BB = BB[order]
    image_ids = [image_ids[x] for x in order]
    nd = len(image_ids)
    tp, fp = np.zeros(nd), np.zeros(nd)
    for d in range(nd):
        R = recs[image_ids[d]]
        bb = BB[d]
        ovmax = -np.inf
        BBGT = R["bbox"]
        if BBGT.size > 0:
            ixmin = np.maximum(BBGT[:, 0], bb[0]); iymin = np.maximum(BBGT[:, 1], bb[1])
            ixmax = np.minimum(BBGT[:, 2], bb[2]); iymax = np.minimum(BBGT[:, 3], bb[3])
            iw = np.maximum(ixmax - ixmin, 0.0); ih = np.maximum(iymax - iymin, 0.0)
            inters = iw * ih
            uni = (bb[2] - bb[0]) * (bb[3] - bb[1]) + (BBGT[:, 2] - BBGT[:, 0]) * (BBGT[:, 3] - BBGT[:, 1]) - inters
            overlaps = inters / uni
            ovmax = np.max(overlaps)
            jmax = np.argmax(overlaps)
        if ovmax > ovthresh:
            if not R["det"][jmax]:
                tp[d] = 1.0
                R["det"][jmax] = True
            else:
                fp[d] = 1.0
        else:
            fp[d] = 1.0
    fp, tp = np.cumsum(fp), np.cumsum(tp)
    rec = tp / float(npos)
    prec = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
    return float(voc_ap(rec, prec))


def map_case(c):
    result = {}
    for t in [0.5 + 0.05 * k for k in range(10)]:
        aps = [voc_eval(c["images"], cls, t) for cls in range(c["classes"])]
        aps = [a for a in aps if a is not None]
        result["%.2f" % t] = float(np.mean(aps)) if aps else 0.0
    result["ap50"] = [voc_eval(c["images"], cls, 0.5) for cls in range(c["classes"])]
    return result


def main():
    with open(sys.argv[1]) as f:
        data = json.load(f)
    out = {
        "torchvision": torchvision.__version__,
        "iou": iou_cases(data["iou"]),
        "nms": nms_cases(data["nms"]),
        "yolo": [yolo_case(c) for c in data["yolo"]],
        "map": [map_case(c) for c in data["map"]],
    }
    with open(sys.argv[2], "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
